// mode: write
// Candidates whose first person has a safeguarding flag.
UNWIND $rows AS row
MATCH (c:ReviewCandidate {person_a: row.person_id})
SET c.flagged = true
