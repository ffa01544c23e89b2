// mode: write
// Remove quarantined rows a later load superseded (by quarantine key).
UNWIND $keys AS k
MATCH (q:QuarantinedRow {key: k})
DELETE q
