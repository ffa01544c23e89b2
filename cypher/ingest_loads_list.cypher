// Loads of one system ($system null = all), newest extract first.
MATCH (l:Load)
WHERE $system IS NULL OR l.system = $system
RETURN l.load_id AS load_id, l.system AS system, l.agency AS agency,
       l.extracted_at AS extracted_at, l.status AS status, l.started_at AS started_at,
       l.finished_at AS finished_at, l.files AS files, l.runs AS runs, l.owner AS owner,
       l.rows_read AS rows_read, l.rows_loaded AS rows_loaded,
       l.rows_quarantined AS rows_quarantined, l.mentions AS mentions
ORDER BY extracted_at DESC, load_id
LIMIT $limit
