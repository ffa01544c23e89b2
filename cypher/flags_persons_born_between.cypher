// The persons with a record born in [$lo, $hi) (ISO dates): whose age, or whether
// they are born yet, can read otherwise on a new reference date.
MATCH (s:SourceRecord)
WHERE s.dob >= $lo AND s.dob < $hi
MATCH (s)-[:RESOLVES_TO]->(p:Person)
WITH DISTINCT p.person_id AS id
RETURN collect(id) AS ids
