// mode: write
// Close a load with its status and per-file counts (a JSON string).
MATCH (l:Load {load_id: $load_id})
SET l.status = $status, l.finished_at = $finished_at, l.files = $files,
    l.rows_read = $rows_read, l.rows_loaded = $rows_loaded,
    l.rows_quarantined = $rows_quarantined, l.mentions = $mentions
