// Quarantined rows, optionally for one system and/or one load ($system / $load_id null = all).
MATCH (q:QuarantinedRow)
WHERE ($system IS NULL OR q.system = $system) AND ($load_id IS NULL OR q.load_id = $load_id)
RETURN q.system AS system, q.file AS file, q.line AS line, q.raw AS raw, q.reason AS reason,
       q.column AS column, q.load_id AS load_id
ORDER BY system, load_id, file, line
LIMIT $limit
