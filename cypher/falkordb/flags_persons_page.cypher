// The live persons whose internal id lies in ($after, $after + $limit], with every
// date of birth their records carry, as a `page` of rows [person id, dates of
// birth] in one JSON text (one parse, not one per value; the caller orders what it
// needs). `next` is where the following window starts; a window may hold no person
// (ids are shared with other labels). Retired ids are skipped: flags attach to the
// surviving person.
MATCH (p:Person)
WHERE ID(p) > $after AND ID(p) <= $after + $limit
  AND (p.retired IS NULL OR p.retired = false)
OPTIONAL MATCH (s:SourceRecord)-[:RESOLVES_TO]->(p)
WITH p.person_id AS person_id, collect(s.dob) AS dobs
WITH collect([person_id, dobs]) AS page
// (aggregated alone: one row even for an empty window)
RETURN toJSON(page) AS page, $after + $limit AS next
