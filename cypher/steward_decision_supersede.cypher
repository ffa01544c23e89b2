// mode: write
// A later decision reverses earlier ones: an edge, never an edit or a delete.
UNWIND $rows AS row
MATCH (d:Decision {decision_id: row.decision_id})
MATCH (old:Decision {decision_id: row.supersedes})
MERGE (d)-[:SUPERSEDES]->(old)
