// One page of person mentions in key order (keyset pagination on the indexed key),
// with only their key, row hash and the person each resolves to now: an incremental
// run reads the other columns from its cache of the last run's mentions and fetches
// only the rows whose hash changed (`linkage_mentions_by_keys`). `next` is the
// page's last key (null for an empty page, which ends the reading).
MATCH (s:SourceRecord)
WHERE s.key > $after
WITH s
ORDER BY s.key
LIMIT $limit
OPTIONAL MATCH (s)-[:RESOLVES_TO]->(p:Person)
WITH s, p
ORDER BY s.key
RETURN collect([s.key, s.row_hash, p.person_id]) AS page, max(s.key) AS next
