// mode: write
// (SourceRecord)-[:INVOLVED_IN {role}]->(Event); rows: [record key, event_id, role, system].
// The system is part of the record key, so matching on it too finds the same edge
// and creates a new one with every property at once (no SET on the edge after the
// MERGE). A new edge marks its event changed by the load writing it (the event was
// upserted by the same load, so `e.load_id` is that load): a record newly involved
// in a known event reaches a scoped flags run.
UNWIND $rows AS r
MATCH (s:SourceRecord {key: r[0]})
MATCH (e:Event {event_id: r[1]})
MERGE (s)-[:INVOLVED_IN {role: r[2], system: r[3]}]->(e)
ON CREATE SET e.changed_in = e.load_id
