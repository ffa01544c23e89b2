// One page of possible matches (review items linkage kept apart, not yet decided
// against), keyset on the indexed candidate id, each with the persons its two
// records resolve to now (a merge or split since the run is followed).
MATCH (c:ReviewCandidate)
WHERE c.candidate_id > $after AND c.status IN $statuses
WITH c
ORDER BY c.candidate_id
LIMIT $limit
OPTIONAL MATCH (a:SourceRecord {key: c.key_a})-[:RESOLVES_TO]->(pa:Person)
OPTIONAL MATCH (b:SourceRecord {key: c.key_b})-[:RESOLVES_TO]->(pb:Person)
RETURN c.candidate_id AS candidate_id, c.key_a AS key_a, c.key_b AS key_b,
       pa.person_id AS person_a, pb.person_id AS person_b, c.probability AS probability,
       c.reason AS reason, c.evidence AS evidence
ORDER BY candidate_id
