// The newest extract date among loads: flags are computed as of the data.
MATCH (l:Load)
WHERE l.extracted_at IS NOT NULL
RETURN max(l.extracted_at) AS extracted_at
