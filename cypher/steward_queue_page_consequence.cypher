// A window of the stored review queue, most consequential first: the candidates whose queue
// position `rank_pos` (dense, unique, set by linkage in this order) lies in
// ($after, $upto] — a bounded index range, so a page costs the same however long
// the queue is — filtered by status, source system, kept-apart reason,
// probability band and flagged child (null filters match everything). Then both
// records and their persons now; `stale` when a record changed (its row hash)
// since the pair was scored.
MATCH (c:ReviewCandidate)
WHERE c.rank_pos > $after AND c.rank_pos <= $upto AND c.status IN $statuses
  AND c.probability >= $min_probability AND c.probability <= $max_probability
  AND ($reason IS NULL OR c.reason = $reason)
  AND ($system IS NULL OR c.system_a = $system OR c.system_b = $system)
  AND ($within_system IS NULL OR (c.within_system IS NOT NULL) = $within_system)
  AND ($flagged IS NULL OR coalesce(c.flagged, false) = $flagged)
WITH c
ORDER BY c.rank_pos
LIMIT $limit
MATCH (a:SourceRecord {key: c.key_a})
MATCH (b:SourceRecord {key: c.key_b})
OPTIONAL MATCH (a)-[:RESOLVES_TO]->(pa:Person)
OPTIONAL MATCH (b)-[:RESOLVES_TO]->(pb:Person)
RETURN c AS candidate, c.rank_pos AS position, a AS record_a, b AS record_b,
       pa.person_id AS person_a, pb.person_id AS person_b,
       (c.hash_a IS NOT NULL AND a.row_hash <> c.hash_a)
         OR (c.hash_b IS NOT NULL AND b.row_hash <> c.hash_b) AS stale
ORDER BY c.rank_pos
