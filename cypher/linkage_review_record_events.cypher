// The events each record is involved in (id, agency, concern), for the review
// queue's consequence ranking computed once per linkage run.
UNWIND $keys AS k
MATCH (r:SourceRecord {key: k})-[:INVOLVED_IN]->(e:Event)
RETURN k AS key, collect(DISTINCT [e.event_id, e.agency, e.is_concern]) AS events
