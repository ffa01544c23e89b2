// Persons retired into the given person (a split may revive one of them).
MATCH (old:Person)-[:RETIRED_INTO]->(p:Person {person_id: $person_id})
WHERE old.retired = true
RETURN old.person_id AS person_id
