// Both persons of each person-level relationship starting or ending in one of
// $ranges ([from, to) ISO date pairs): whether it holds, or was joined recently, can
// read otherwise on a new reference date.
MATCH (a:Person)-[r:RELATED_TO]->(b:Person)
WHERE any(x IN $ranges WHERE (r.from_date >= x[0] AND r.from_date < x[1])
                          OR (r.to_date >= x[0] AND r.to_date < x[1]))
WITH collect(DISTINCT a.person_id) + collect(DISTINCT b.person_id) AS ids
RETURN ids
