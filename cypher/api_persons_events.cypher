// Events any source record of each person is involved in.
UNWIND $ids AS id
MATCH (p:Person {person_id: id})<-[:RESOLVES_TO]-(s:SourceRecord)-[i:INVOLVED_IN]->(e:Event)
RETURN id AS person_id, s.key AS record_key, i.role AS role, e AS event
