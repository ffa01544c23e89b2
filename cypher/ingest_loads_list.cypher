// Loads of one system ($system null = all), newest extract first.
MATCH (l:Load)
WHERE $system IS NULL OR l.system = $system
RETURN l.load_id AS load_id, l.system AS system, l.agency AS agency,
       l.extracted_at AS extracted_at, l.status AS status, l.started_at AS started_at,
       l.finished_at AS finished_at, l.files AS files, l.runs AS runs
ORDER BY extracted_at DESC, load_id
LIMIT $limit
