// mode: write
// (SourceRecord)-[:AT_ADDRESS]->(Address); an address that changes in a later
// extract adds an edge and the old one keeps its last_seen (who used to live
// where). Rows: [address key, line, postcode, postcode_valid, record key, seen_at, system].
UNWIND $rows AS r
MERGE (a:Address {key: r[0]})
ON CREATE SET a.line = r[1], a.postcode = r[2], a.postcode_valid = r[3]
WITH a, r
MATCH (s:SourceRecord {key: r[4]})
MERGE (s)-[x:AT_ADDRESS]->(a)
ON CREATE SET x.first_seen = r[5], x.system = r[6]
SET x.last_seen = r[5]
