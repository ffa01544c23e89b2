// mode: write
// Refresh resolutions that stay with the person the mention already resolved
// to when the run read it (rows as persons_resolve_upsert's): the edge and the
// person exist, so they are matched, not merged, and nothing is detached.
UNWIND $rows AS row
MATCH (s:SourceRecord {key: row.key})-[r:RESOLVES_TO]->(p:Person {person_id: row.person_id})
SET p.display_name = row.display_name,
    r.probability = row.probability,
    r.method = row.method,
    r.status = row.status,
    r.breakdown = row.breakdown
