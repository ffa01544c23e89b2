// mode: write
// Delete stored flags a run no longer raises, or raises differently: the version
// with the stored digest (a changed flag's new version, same id, is written first).
// Found through the person's index: flags are always attached to their person.
UNWIND $rows AS row
MATCH (p:Person {person_id: row.person_id})-[:HAS_FLAG]->(f:Flag)
WHERE f.flag_id = row.flag_id AND coalesce(f.digest, '') = row.digest
DETACH DELETE f
