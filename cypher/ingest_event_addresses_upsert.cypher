// mode: write
// (Event)-[:OCCURRED_AT]->(Address). Rows: [address key, line, postcode,
// postcode_valid, event_id, seen_at, system].
UNWIND $rows AS r
MERGE (a:Address {key: r[0]})
ON CREATE SET a.line = r[1], a.postcode = r[2], a.postcode_valid = r[3]
WITH a, r
MATCH (e:Event {event_id: r[4]})
MERGE (e)-[x:OCCURRED_AT]->(a)
SET x.system = r[6]
