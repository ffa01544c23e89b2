// mode: write
// Person-level relationships the projection no longer holds (an incremental run
// removes only these; see person_relationships_upsert).
UNWIND $rows AS row
MATCH (a:Person {person_id: row.from_id})-[r:RELATED_TO]->(b:Person {person_id: row.to_id})
WHERE r.relationship = row.relationship
DELETE r
