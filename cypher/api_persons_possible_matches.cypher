// Possible matches of a batch of persons (DataLoader): undecided review items
// with one record resolving to the person now and the other to someone else.
// Both directions (the item's key_a or key_b is the person's record), looked up
// by the indexed record keys; one row per (person, item).
UNWIND $ids AS id
MATCH (:Person {person_id: id})<-[:RESOLVES_TO]-(s:SourceRecord)
MATCH (c:ReviewCandidate {key_a: s.key})
WHERE c.status IN $statuses
MATCH (o:SourceRecord {key: c.key_b})-[:RESOLVES_TO]->(op:Person)
WHERE op.person_id <> id
RETURN id AS person_id, op.person_id AS other_id, c AS candidate, s.key AS own_key,
       s.agency AS own_agency, o.key AS other_key, o.agency AS other_agency
UNION ALL
UNWIND $ids AS id
MATCH (:Person {person_id: id})<-[:RESOLVES_TO]-(s:SourceRecord)
MATCH (c:ReviewCandidate {key_b: s.key})
WHERE c.status IN $statuses
MATCH (o:SourceRecord {key: c.key_a})-[:RESOLVES_TO]->(op:Person)
WHERE op.person_id <> id
RETURN id AS person_id, op.person_id AS other_id, c AS candidate, s.key AS own_key,
       s.agency AS own_agency, o.key AS other_key, o.agency AS other_agency
