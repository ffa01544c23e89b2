// When candidates were first queued (the NEWEST order of the next queue).
UNWIND $ids AS id
MATCH (c:ReviewCandidate {candidate_id: id})
RETURN id AS candidate_id, c.created_at AS created_at
