// mode: write
// (Event)-[:RECORDED_BY]->(Organisation), e.g. the council that raised a CP-IS flag.
UNWIND $rows AS r
MERGE (o:Organisation {key: r[0]})
ON CREATE SET o.type = r[1], o.code = r[2]
SET o.name = coalesce(r[3], o.name)
WITH o, r
MATCH (e:Event {event_id: r[4]})
MERGE (e)-[x:RECORDED_BY]->(o)
SET x.system = r[5]
