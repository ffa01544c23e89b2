// mode: write
// A person id that holds mentions again is live again.
UNWIND $rows AS row
MATCH (p:Person {person_id: row.person_id})
WHERE p.retired = true
SET p.retired = false
WITH p
OPTIONAL MATCH (p)-[r:RETIRED_INTO]->()
DELETE r
