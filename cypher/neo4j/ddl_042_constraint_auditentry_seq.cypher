// mode: write
CREATE CONSTRAINT auditentry_seq IF NOT EXISTS FOR (n:AuditEntry) REQUIRE n.seq IS UNIQUE
