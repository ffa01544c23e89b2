// How many candidates wait for a steward.
MATCH (c:ReviewCandidate)
WHERE c.status = 'open'
RETURN count(c) AS open
