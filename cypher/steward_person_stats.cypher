// What the review queue weighs per person: their records (agency, date of
// birth), the events those records are involved in, and the persons they
// are related to (with one date of birth each, to spot children).
UNWIND $ids AS id
MATCH (p:Person {person_id: id})
OPTIONAL MATCH (r:SourceRecord)-[:RESOLVES_TO]->(p)
OPTIONAL MATCH (r)-[:INVOLVED_IN]->(e:Event)
WITH id, p, collect(DISTINCT [r.key, r.agency, r.dob]) AS records,
     collect(DISTINCT [e.event_id, e.agency, e.is_concern]) AS events
OPTIONAL MATCH (p)-[rel:RELATED_TO]-(o:Person)
OPTIONAL MATCH (orec:SourceRecord)-[:RESOLVES_TO]->(o)
RETURN id AS person_id, p.display_name AS display_name, records, events,
       collect(DISTINCT [o.person_id, rel.relationship, rel.lives_with, orec.dob]) AS related
