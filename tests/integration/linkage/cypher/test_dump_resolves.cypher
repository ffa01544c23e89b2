// Every RESOLVES_TO edge: the record, its person and the edge's properties.
MATCH (s:SourceRecord)-[r:RESOLVES_TO]->(p:Person)
RETURN s.key AS key, p.person_id AS person_id, properties(r) AS props
