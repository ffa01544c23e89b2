// Review candidates with the given statuses (or the given ids), both records
// as recorded and the person each record resolves to now.
MATCH (c:ReviewCandidate)
WHERE (size($ids) = 0 AND c.status IN $statuses) OR c.candidate_id IN $ids
MATCH (a:SourceRecord {key: c.key_a})
MATCH (b:SourceRecord {key: c.key_b})
OPTIONAL MATCH (a)-[:RESOLVES_TO]->(pa:Person)
OPTIONAL MATCH (b)-[:RESOLVES_TO]->(pb:Person)
RETURN c AS candidate, a AS record_a, b AS record_b,
       pa.person_id AS person_a, pb.person_id AS person_b
ORDER BY c.candidate_id
