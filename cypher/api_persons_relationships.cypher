// Person-level relationships of a batch of persons, both directions.
UNWIND $ids AS id
MATCH (p:Person {person_id: id})-[r:RELATED_TO]-(o:Person)
WHERE o.person_id <> id
RETURN id AS person_id, o.person_id AS other_id, startNode(r).person_id = id AS outgoing,
       r.relationship AS relationship, r.lives_with AS lives_with,
       r.from_date AS from_date, r.to_date AS to_date, r.sources AS sources
