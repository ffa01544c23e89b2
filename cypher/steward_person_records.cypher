// Live persons and the keys of the records that resolve to them.
UNWIND $ids AS id
MATCH (p:Person {person_id: id})
WHERE p.retired IS NULL OR p.retired = false
OPTIONAL MATCH (r:SourceRecord)-[:RESOLVES_TO]->(p)
RETURN id AS person_id, p.display_name AS display_name, collect(r.key) AS keys
