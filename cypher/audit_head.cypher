// The last entry of the audit chain (`v`: its chain version, null = 1).
MATCH (e:AuditEntry)
RETURN e.seq AS seq, e.hash AS hash, e.v AS v
ORDER BY e.seq DESC
LIMIT 1
