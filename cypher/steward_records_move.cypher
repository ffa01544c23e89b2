// mode: write
// A steward decision moves records to a person (created when new): the old
// RESOLVES_TO edge is replaced; the decision keeps what it was before.
UNWIND $rows AS row
MATCH (s:SourceRecord {key: row.key})
MERGE (p:Person {person_id: row.person_id})
ON CREATE SET p.created_at = row.at, p.display_name = row.display_name
WITH s, p, row
OPTIONAL MATCH (s)-[old:RESOLVES_TO]->(other:Person)
WHERE other.person_id <> row.person_id
DELETE old
WITH DISTINCT s, p, row
MERGE (s)-[r:RESOLVES_TO]->(p)
SET r.probability = 1.0, r.method = 'steward', r.status = 'reviewed',
    r.decision_id = row.decision_id
