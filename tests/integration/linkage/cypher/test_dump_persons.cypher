// Every person with its properties (a store dump, compared across runs).
MATCH (p:Person)
OPTIONAL MATCH (p)-[:RETIRED_INTO]->(q:Person)
RETURN properties(p) AS props, q.person_id AS into
