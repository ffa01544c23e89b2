// Person-level relationships leaving a batch of persons (each edge once).
UNWIND $ids AS id
MATCH (p:Person {person_id: id})-[r:RELATED_TO]->(o:Person)
WHERE o.person_id <> id
RETURN id AS from_id, o.person_id AS to_id, r.relationship AS relationship,
       r.lives_with AS lives_with, r.from_date AS from_date, r.to_date AS to_date,
       r.sources AS sources
