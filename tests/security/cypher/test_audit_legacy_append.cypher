// mode: write
// Test-only: an entry as cpgraph wrote them before chain version 2 (no `v`).
CREATE (e:AuditEntry {seq: $seq, at: $at, user: $user, role: $role, action: $action,
                      persons: $persons, records: $records, fields: $fields,
                      purpose: $purpose, prev_hash: $prev_hash, hash: $hash})
RETURN e.seq AS seq
