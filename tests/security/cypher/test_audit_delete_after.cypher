// mode: write
// Test-only: an attacker with database access deletes the newest entries.
MATCH (e:AuditEntry)
WHERE e.seq > $seq
DETACH DELETE e
RETURN count(*) AS deleted
