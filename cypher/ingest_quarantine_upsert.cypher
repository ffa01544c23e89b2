// mode: write
// Rows that could not be loaded, kept with their raw content and reason.
// Rows: [key, system, file, line, raw, reason, column, load_id, raw_truncated].
UNWIND $rows AS r
MERGE (q:QuarantinedRow {key: r[0]})
SET q.system = r[1], q.file = r[2], q.line = r[3], q.raw = r[4], q.reason = r[5],
    q.column = r[6], q.load_id = r[7], q.raw_truncated = r[8]
