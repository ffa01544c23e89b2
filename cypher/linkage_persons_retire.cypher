// mode: write
// A person merged into another (or left with no mentions) keeps its node,
// marked retired, so the old id still answers: RETIRED_INTO points at the
// survivor when there is one.
UNWIND $rows AS row
MATCH (old:Person {person_id: row.person_id})
SET old.retired = true, old.retired_at = row.at, old.retired_reason = row.reason
WITH old, row
WHERE row.into IS NOT NULL
MATCH (survivor:Person {person_id: row.into})
MERGE (old)-[:RETIRED_INTO]->(survivor)
