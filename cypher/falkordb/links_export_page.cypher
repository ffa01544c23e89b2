// Every mention with the person it resolves to, for the mentions whose internal
// id lies in ($after, $after + $limit] (id windows from `linkage_mentions_start`,
// as `linkage_mentions_page`: no sort of every remaining mention per page), as
// one JSON text of [key, person_id, status] rows.
MATCH (s:SourceRecord)
WHERE ID(s) > $after AND ID(s) <= $after + $limit
OPTIONAL MATCH (s)-[r:RESOLVES_TO]->(p:Person)
WITH collect([s.key, p.person_id, r.status]) AS page
RETURN toJSON(page) AS page, $after + $limit AS next
