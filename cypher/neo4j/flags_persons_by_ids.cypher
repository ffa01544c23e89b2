// The live persons among $ids, with every date of birth their records carry, as a
// `page` of rows [person id, dates of birth]. Retired and unknown ids are left
// out: flags attach to the surviving person.
UNWIND $ids AS id
MATCH (p:Person {person_id: id})
WHERE p.retired IS NULL OR p.retired = false
OPTIONAL MATCH (s:SourceRecord)-[:RESOLVES_TO]->(p)
WITH id, collect(s.dob) AS dobs
RETURN collect([id, dobs]) AS page
