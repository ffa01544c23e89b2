// The persons in custody events starting or ending in one of $ranges ([from, to) ISO
// date pairs): whether they are in custody, or due for release (and in how many
// days), can read otherwise on a new reference date.
MATCH (e:Event)
WHERE e.type = 'custody'
  AND any(x IN $ranges WHERE (e.date >= x[0] AND e.date < x[1])
                          OR (e.end_date >= x[0] AND e.end_date < x[1]))
MATCH (e)<-[:INVOLVED_IN]-(:SourceRecord)-[:RESOLVES_TO]->(p:Person)
WITH DISTINCT p.person_id AS id
RETURN collect(id) AS ids
