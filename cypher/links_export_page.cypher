// Every mention with the person it resolves to (keyset pages).
MATCH (s:SourceRecord)
WHERE s.key > $after
WITH s
ORDER BY s.key
LIMIT $limit
OPTIONAL MATCH (s)-[r:RESOLVES_TO]->(p:Person)
RETURN s.key AS key, p.person_id AS person_id, r.status AS status
ORDER BY key
