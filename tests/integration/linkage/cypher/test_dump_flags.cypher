// Every safeguarding flag with its person and properties.
MATCH (p:Person)-[:HAS_FLAG]->(f:Flag)
RETURN p.person_id AS person_id, properties(f) AS props
