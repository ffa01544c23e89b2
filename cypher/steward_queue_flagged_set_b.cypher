// mode: write
// Candidates whose second person has a safeguarding flag.
UNWIND $rows AS row
MATCH (c:ReviewCandidate {person_b: row.person_id})
SET c.flagged = true
