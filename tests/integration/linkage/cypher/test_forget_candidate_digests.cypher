// mode: write
// Forget what was written of the review queue: the next run writes every candidate.
MATCH (c:ReviewCandidate)
SET c.digest = null
