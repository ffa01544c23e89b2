// The person mentions whose internal id lies in ($after, $after + $limit], with only
// their key, row hash and the person each resolves to now, as one JSON text: an
// incremental run reads the other columns from its cache of the last run's mentions
// and fetches only the rows whose hash changed (`linkage_mentions_by_keys`). Windows
// as `linkage_mentions_page`.
MATCH (s:SourceRecord)
WHERE ID(s) > $after AND ID(s) <= $after + $limit
OPTIONAL MATCH (s)-[:RESOLVES_TO]->(p:Person)
WITH collect([s.key, s.row_hash, p.person_id]) AS page
// (aggregated alone: one row even for an empty window)
RETURN toJSON(page) AS page, $after + $limit AS next
