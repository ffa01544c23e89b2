// One steward decision by id, as stored.
MATCH (d:Decision {decision_id: $decision_id})
RETURN d AS decision
