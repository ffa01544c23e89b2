// One page of live persons in id order (keyset on the indexed id), with every
// date of birth their records carry, as one list `page` of rows [person id,
// dates of birth]. `next` is the page's last id (null for an empty page, which
// ends the reading). Retired ids are skipped: flags attach to the surviving person.
MATCH (p:Person)
WHERE p.person_id > $after AND (p.retired IS NULL OR p.retired = false)
WITH p
ORDER BY p.person_id
LIMIT $limit
OPTIONAL MATCH (s:SourceRecord)-[:RESOLVES_TO]->(p)
WITH p.person_id AS person_id, collect(s.dob) AS dobs
RETURN collect([person_id, dobs]) AS page, max(person_id) AS next
