// mode: write
// Test-only: an attacker rewrites one entry completely (content and hashes).
MATCH (e:AuditEntry {seq: $seq})
SET e.purpose = $purpose, e.prev_hash = $prev_hash, e.hash = $hash, e.v = $v
RETURN e.seq AS seq
