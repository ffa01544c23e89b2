// mode: write
// A re-run of one extract replaces what its earlier run said: a mention's AT_ADDRESS
// edge first and last seen in this extract ($seen = its extracted_at) that the row no
// longer states is removed (an edge seen in an older extract is history: kept).
// Rows: [record key, its address key now (null: no address)]. Returns the address
// keys whose edges went, with how many, for the orphan sweep.
UNWIND $rows AS r
MATCH (s:SourceRecord {key: r[0]})-[x:AT_ADDRESS]->(a:Address)
WHERE x.first_seen = $seen AND x.last_seen = $seen AND (r[1] IS NULL OR a.key <> r[1])
WITH a.key AS key, x
DELETE x
RETURN key, count(*) AS edges
