// mode: write
// (SourceRecord)-[:ENROLLED_AT]->(Organisation school); rows: [org key, type, code,
// name, record key, system].
UNWIND $rows AS r
MERGE (o:Organisation {key: r[0]})
ON CREATE SET o.type = r[1], o.code = r[2]
SET o.name = coalesce(r[3], o.name)
WITH o, r
MATCH (s:SourceRecord {key: r[4]})
MERGE (s)-[x:ENROLLED_AT]->(o)
SET x.system = r[5]
