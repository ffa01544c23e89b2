// mode: write
// Before the flagged marks are set again from the current flags.
MATCH (c:ReviewCandidate)
WHERE c.flagged = true
SET c.flagged = false
RETURN count(c) AS cleared
