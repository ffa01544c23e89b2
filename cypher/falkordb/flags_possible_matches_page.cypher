// One page of possible matches (review items linkage kept apart, not yet decided
// against), keyset on the indexed candidate id, each with the persons its two
// records resolve to now (a merge or split since the run is followed), as one list
// `page` of rows [candidate id, key_a, key_b, person_a, person_b, probability,
// reason, evidence] (one JSON text: one parse, not one per value; the caller orders the page).
MATCH (c:ReviewCandidate)
WHERE c.candidate_id > $after AND c.status IN $statuses
WITH c
ORDER BY c.candidate_id
LIMIT $limit
OPTIONAL MATCH (a:SourceRecord {key: c.key_a})-[:RESOLVES_TO]->(pa:Person)
OPTIONAL MATCH (b:SourceRecord {key: c.key_b})-[:RESOLVES_TO]->(pb:Person)
RETURN toJSON(collect([c.candidate_id, c.key_a, c.key_b, pa.person_id, pb.person_id,
        c.probability, c.reason, c.evidence])) AS page
