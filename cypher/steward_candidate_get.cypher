// One review candidate by id, both records as recorded, the person each record
// resolves to now, and whether a record changed since the pair was scored.
MATCH (c:ReviewCandidate {candidate_id: $candidate_id})
WITH c
MATCH (a:SourceRecord {key: c.key_a})
MATCH (b:SourceRecord {key: c.key_b})
OPTIONAL MATCH (a)-[:RESOLVES_TO]->(pa:Person)
OPTIONAL MATCH (b)-[:RESOLVES_TO]->(pb:Person)
RETURN c AS candidate, a AS record_a, b AS record_b,
       pa.person_id AS person_a, pb.person_id AS person_b,
       (c.hash_a IS NOT NULL AND a.row_hash <> c.hash_a)
         OR (c.hash_b IS NOT NULL AND b.row_hash <> c.hash_b) AS stale
