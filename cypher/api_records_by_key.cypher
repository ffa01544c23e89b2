// Source records by key with the person each resolves to (if any).
UNWIND $keys AS k
MATCH (s:SourceRecord {key: k})
OPTIONAL MATCH (s)-[r:RESOLVES_TO]->(p:Person)
RETURN k AS key, s AS record, p.person_id AS person_id, r.probability AS probability,
       r.method AS method, r.status AS status
