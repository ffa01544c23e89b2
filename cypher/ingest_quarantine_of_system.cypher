// Every quarantined row of one system: its key, load, and the entry (file or FHIR
// resource type) and row key it was read with (null for rows stored before row keys
// were kept, or with no readable key). What a newer load may supersede.
MATCH (q:QuarantinedRow)
WHERE q.system = $system
RETURN q.key AS key, q.load_id AS load_id, q.entry AS entry, q.row_key AS row_key
