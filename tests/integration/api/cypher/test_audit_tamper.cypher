// mode: write
// Test-only: what an attacker with database access might do.
MATCH (e:AuditEntry {seq: $seq})
SET e.purpose = $purpose
