// The last entry of the audit chain.
MATCH (e:AuditEntry)
RETURN e.seq AS seq, e.hash AS hash
ORDER BY e.seq DESC
LIMIT 1
