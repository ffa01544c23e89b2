// mode: write
// Test-only: which record is involved in which event, and how.
UNWIND $rows AS row
MATCH (s:SourceRecord {key: row.key})
MATCH (e:Event {event_id: row.event_id})
MERGE (s)-[i:INVOLVED_IN]->(e)
SET i.role = row.role
