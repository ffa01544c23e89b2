// mode: write
// Relationships as the source stated them: the target is `relationship` of the
// source. One edge per (source, target, source_key); rows: [from key, to key,
// source_key, relationship, relationship_recorded, lives_with, from_date,
// to_date, system, load_id].
UNWIND $rows AS r
MATCH (a:SourceRecord {key: r[0]})
MATCH (b:SourceRecord {key: r[1]})
MERGE (a)-[x:STATED_RELATIONSHIP {source_key: r[2]}]->(b)
SET x.relationship = r[3], x.relationship_recorded = r[4], x.lives_with = r[5],
    x.from_date = r[6], x.to_date = r[7], x.system = r[8], x.load_id = r[9]
