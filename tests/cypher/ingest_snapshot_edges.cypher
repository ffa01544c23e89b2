// Every edge with its type, properties and the identity of its ends (tests only).
MATCH (a)-[r]->(b)
RETURN type(r) AS type, properties(r) AS props,
       coalesce(a.key, a.event_id, a.load_id, a.person_id) AS source,
       coalesce(b.key, b.event_id, b.load_id, b.person_id) AS target
