// Person-level relationships leaving a batch of persons (each edge once), as one
// list `page` of rows [from id, to id, relationship, lives_with, from_date,
// to_date, sources] (FalkorDB: one JSON text).
UNWIND $ids AS id
MATCH (p:Person {person_id: id})-[r:RELATED_TO]->(o:Person)
WHERE o.person_id <> id
RETURN collect([id, o.person_id, r.relationship, r.lives_with, r.from_date, r.to_date,
        r.sources]) AS page
