// mode: write
// Keep with each quarantined row the entry (file or FHIR resource type) and row key it
// was read with, so a later load of the system can tell which rows it supersedes.
// Rows: [quarantine key, entry, row key or null].
UNWIND $rows AS r
MATCH (q:QuarantinedRow {key: r[0]})
SET q.entry = r[1], q.row_key = r[2]
