// mode: write
// Open (or re-open, for a re-run) the bookkeeping node of one extract load, and
// link it to the organisation the extract came from.
MERGE (l:Load {load_id: $load_id})
ON CREATE SET l.started_at = $started_at, l.runs = 0
SET l.system = $system, l.agency = $agency, l.organisation = $organisation,
    l.extracted_at = $extracted_at, l.status = 'running', l.last_started_at = $started_at,
    l.runs = l.runs + 1, l.owner = $owner
MERGE (o:Organisation {key: $org_key})
ON CREATE SET o.type = $org_type, o.code = $system
SET o.name = $organisation
MERGE (l)-[:RECORDED_BY]->(o)
