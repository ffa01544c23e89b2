// The persons a batch of persons' flags can depend on, and whose flags can depend on
// theirs: those related to them (either way) and those their records share an event
// with, as a `page` of person ids in one JSON text (a scoped flags run's reach).
UNWIND $ids AS id
MATCH (p:Person {person_id: id})
OPTIONAL MATCH (p)-[:RELATED_TO]-(r:Person)
WITH p, collect(DISTINCT r.person_id) AS related
OPTIONAL MATCH (p)<-[:RESOLVES_TO]-(:SourceRecord)-[:INVOLVED_IN]->(:Event)
      <-[:INVOLVED_IN]-(:SourceRecord)-[:RESOLVES_TO]->(o:Person)
WITH p, related, collect(DISTINCT o.person_id) AS shared
UNWIND related + shared AS other
WITH DISTINCT other
WHERE other IS NOT NULL
RETURN toJSON(collect(other)) AS page
