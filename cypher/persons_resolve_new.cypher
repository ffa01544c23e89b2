// mode: write
// Resolve person mentions that resolved to no person when the run read them
// (rows as persons_resolve_upsert's): nothing to detach first, so no look-up of
// an old RESOLVES_TO edge per row. MERGE, not CREATE, keeps one edge per pair.
UNWIND $rows AS row
MATCH (s:SourceRecord {key: row.key})
MERGE (p:Person {person_id: row.person_id})
ON CREATE SET p.created_at = row.created_at
SET p.display_name = row.display_name
MERGE (s)-[r:RESOLVES_TO]->(p)
SET r.probability = row.probability,
    r.method = row.method,
    r.status = row.status,
    r.breakdown = row.breakdown
