// Every mention with the person it resolves to (keyset pages on the indexed key),
// as [key, person_id, status] rows; `next` is the page's last key (null: done).
MATCH (s:SourceRecord)
WHERE s.key > $after
WITH s
ORDER BY s.key
LIMIT $limit
OPTIONAL MATCH (s)-[r:RESOLVES_TO]->(p:Person)
WITH s, p, r
ORDER BY s.key
RETURN collect([s.key, p.person_id, r.status]) AS page, max(s.key) AS next
