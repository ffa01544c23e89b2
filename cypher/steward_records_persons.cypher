// The person each record resolves to now.
UNWIND $keys AS k
MATCH (s:SourceRecord {key: k})
OPTIONAL MATCH (s)-[:RESOLVES_TO]->(p:Person)
RETURN k AS key, p.person_id AS person_id, s.forename AS forename, s.surname AS surname,
       s.agency AS agency
