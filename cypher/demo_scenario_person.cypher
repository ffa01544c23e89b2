// The person a record resolves to (the demo uses it to print a ready query).
MATCH (s:SourceRecord {key: $key})-[:RESOLVES_TO]->(p:Person)
RETURN p.person_id AS person_id, p.display_name AS display_name
