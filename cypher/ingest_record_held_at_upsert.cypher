// mode: write
// (SourceRecord)-[:HELD_AT]->(Organisation prison); rows as ingest_record_enrolled_at_upsert.
UNWIND $rows AS r
MERGE (o:Organisation {key: r[0]})
ON CREATE SET o.type = r[1], o.code = r[2]
SET o.name = coalesce(r[3], o.name)
WITH o, r
MATCH (s:SourceRecord {key: r[4]})
MERGE (s)-[x:HELD_AT]->(o)
SET x.system = r[5]
