// mode: write
// Mention facts a mapping names outside the fact slots of ingest_records_upsert
// (a null value removes the property). Rows: [record key, {fact: value...}].
UNWIND $rows AS r
MATCH (s:SourceRecord {key: r[0]})
SET s += r[1]
