// Profiles for a batch of person ids (DataLoader). A retired id answers with
// the person it was merged into. One row per (requested id, source record).
UNWIND $ids AS id
MATCH (p0:Person {person_id: id})
OPTIONAL MATCH (p0)-[:RETIRED_INTO*1..5]->(s:Person)
WHERE s.retired IS NULL OR s.retired = false
WITH id, coalesce(s, p0) AS p
OPTIONAL MATCH (r:SourceRecord)-[res:RESOLVES_TO]->(p)
RETURN id AS requested_id, p.person_id AS person_id, p.display_name AS display_name,
       p.created_at AS created_at, p.retired AS retired, r AS record,
       res.probability AS probability, res.method AS method, res.status AS status
