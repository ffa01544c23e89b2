// mode: write
// Tie a decision to the audit entry that records it.
MATCH (d:Decision {decision_id: $decision_id})
MATCH (e:AuditEntry {seq: $seq})
MERGE (d)-[:AUDITED_AS]->(e)
RETURN e.seq AS seq
