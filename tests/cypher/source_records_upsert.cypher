// mode: write
// One person mention per row, keyed by its record key. `SET s += row` keeps
// properties the row does not carry (e.g. linkage state) untouched.
UNWIND $rows AS row
MERGE (s:SourceRecord {key: row.key})
SET s += row
