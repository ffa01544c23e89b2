// One breadth-first level of `connections`: persons sharing an event with any
// person of a batch (both persons' records involved in it), with the records
// and roles on each side. At most `$limit` rows per call.
UNWIND $ids AS id
MATCH (p:Person {person_id: id})<-[:RESOLVES_TO]-(s:SourceRecord)-[i:INVOLVED_IN]->(e:Event)
MATCH (e)<-[j:INVOLVED_IN]-(t:SourceRecord)-[:RESOLVES_TO]->(o:Person)
WHERE o.person_id <> id
RETURN id AS person_id, o.person_id AS other_id, e AS event, s.key AS record_key,
       i.role AS role, t.key AS other_key, j.role AS other_role
LIMIT $limit
