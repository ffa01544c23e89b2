// mode: write
// Review candidates are merged by linkage and claimed by stewards on this key.
CREATE INDEX FOR (n:ReviewCandidate) ON (n.candidate_id)
