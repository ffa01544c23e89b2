// mode: write
// (SourceRecord)-[:INVOLVED_IN {role}]->(Event); rows: [record key, event_id, role, system].
// The system is part of the record key, so matching on it too finds the same edge
// and creates a new one with every property at once (no SET after the MERGE).
UNWIND $rows AS r
MATCH (s:SourceRecord {key: r[0]})
MATCH (e:Event {event_id: r[1]})
MERGE (s)-[:INVOLVED_IN {role: r[2], system: r[3]}]->(e)
