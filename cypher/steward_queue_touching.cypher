// Candidates on any of these records (a decision moved them between persons).
UNWIND $keys AS k
MATCH (c:ReviewCandidate {key_a: k})
RETURN c.candidate_id AS candidate_id
UNION
UNWIND $keys AS k
MATCH (c:ReviewCandidate {key_b: k})
RETURN c.candidate_id AS candidate_id
