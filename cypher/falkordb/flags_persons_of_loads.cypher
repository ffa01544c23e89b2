// The persons involved in events the given loads created or changed (their digest,
// or a new involvement: `Event.changed_in`; a scoped flags run treats them as
// changed), as a `page` of person ids in one JSON text.
MATCH (e:Event)
WHERE e.changed_in IN $loads
MATCH (e)<-[:INVOLVED_IN]-(:SourceRecord)-[:RESOLVES_TO]->(p:Person)
WITH DISTINCT p.person_id AS id
RETURN toJSON(collect(id)) AS page
