// mode: write
// Set the flagged mark of candidates whose persons' flags changed.
UNWIND $rows AS row
MATCH (c:ReviewCandidate {candidate_id: row.candidate_id})
SET c.flagged = row.flagged
