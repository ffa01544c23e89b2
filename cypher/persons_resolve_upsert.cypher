// mode: write
// Resolve person mentions to persons (linkage output). One row per mention:
// {key, person_id, display_name, created_at, probability, method, status,
// breakdown (JSON string)}. A mention resolves to exactly one person: any
// RESOLVES_TO edge it has to another person is removed first.
UNWIND $rows AS row
MATCH (s:SourceRecord {key: row.key})
MERGE (p:Person {person_id: row.person_id})
ON CREATE SET p.created_at = row.created_at
SET p.display_name = row.display_name
WITH s, p, row
OPTIONAL MATCH (s)-[old:RESOLVES_TO]->(other:Person)
WHERE other.person_id <> row.person_id
DELETE old
WITH DISTINCT s, p, row
MERGE (s)-[r:RESOLVES_TO]->(p)
SET r.probability = row.probability,
    r.method = row.method,
    r.status = row.status,
    r.breakdown = row.breakdown
