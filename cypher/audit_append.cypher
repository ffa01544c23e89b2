// mode: write
// Append one audit entry; returns no row when `$seq` is already taken (a
// concurrent writer won; the caller re-reads the head and retries). The
// uniqueness constraint on AuditEntry.seq backs this up across processes.
// `v` is the chain version: 2 = keyed HMAC-SHA256 (1, absent: plain SHA-256).
OPTIONAL MATCH (x:AuditEntry {seq: $seq})
WITH x WHERE x IS NULL
CREATE (e:AuditEntry {seq: $seq, at: $at, user: $user, role: $role, action: $action,
                      persons: $persons, records: $records, fields: $fields,
                      purpose: $purpose, prev_hash: $prev_hash, hash: $hash, v: $v})
RETURN e.seq AS seq
