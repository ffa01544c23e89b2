// One page of steward decisions in decision_id (= time) order, with the
// audit entry each is tied to and the decisions it supersedes.
MATCH (d:Decision)
WHERE d.decision_id > $after
WITH d
ORDER BY d.decision_id
LIMIT $limit
OPTIONAL MATCH (d)-[:AUDITED_AS]->(e:AuditEntry)
OPTIONAL MATCH (d)-[:SUPERSEDES]->(old:Decision)
RETURN d AS decision, e.seq AS audit_seq, collect(old.decision_id) AS supersedes
ORDER BY d.decision_id
