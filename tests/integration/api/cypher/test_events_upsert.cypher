// mode: write
// Test-only: events as the loaders will write them.
UNWIND $rows AS row
MERGE (e:Event {event_id: row.event_id})
SET e += row
