// mode: write
// Relationships as the source stated them, one edge per (from, to, source row).
UNWIND $rows AS row
MATCH (a:SourceRecord {key: row.from_key})
MATCH (b:SourceRecord {key: row.to_key})
MERGE (a)-[r:STATED_RELATIONSHIP {source_key: row.source_key}]->(b)
SET r.relationship = row.relationship,
    r.lives_with = row.lives_with,
    r.from_date = row.from_date,
    r.to_date = row.to_date,
    r.system = row.system
