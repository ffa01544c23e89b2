// mode: write
// (SourceRecord)-[:INVOLVED_IN {role}]->(Event); rows: [record key, event_id, role, system].
UNWIND $rows AS r
MATCH (s:SourceRecord {key: r[0]})
MATCH (e:Event {event_id: r[1]})
MERGE (s)-[x:INVOLVED_IN {role: r[2]}]->(e)
SET x.system = r[3]
