// Every person-level RELATED_TO edge with its properties.
MATCH (a:Person)-[r:RELATED_TO]->(b:Person)
RETURN a.person_id AS from_id, b.person_id AS to_id, properties(r) AS props
