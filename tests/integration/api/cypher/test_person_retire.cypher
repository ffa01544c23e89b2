// mode: write
// Test-only: a person id retired into a survivor by a merge.
MATCH (survivor:Person {person_id: $survivor_id})
CREATE (old:Person {person_id: $retired_id, retired: true})-[:RETIRED_INTO]->(survivor)
