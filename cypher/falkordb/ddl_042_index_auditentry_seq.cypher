// mode: write
CREATE INDEX FOR (n:AuditEntry) ON (n.seq)
