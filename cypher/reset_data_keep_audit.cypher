// mode: write
// `cpgraph db reset`: delete up to $batch nodes (with their edges) that are not
// part of the audit log or the user table; the caller repeats until none is left.
MATCH (n)
WHERE NOT n:AuditEntry AND NOT n:User
WITH n LIMIT $batch
DETACH DELETE n
RETURN count(*) AS deleted
