// mode: write
// Open candidates this run no longer finds uncertain are closed, not deleted.
MATCH (c:ReviewCandidate)
WHERE c.status = 'open' AND c.run_id <> $run_id
SET c.status = 'stale'
RETURN count(c) AS closed
