// The keys of every quarantined row of one load (a re-run removes those it did not write).
MATCH (q:QuarantinedRow)
WHERE q.load_id = $load_id
RETURN q.key AS key
