// mode: write
// Open candidates this run no longer finds uncertain are closed, not deleted
// (a later run that finds them uncertain again reopens them).
MATCH (c:ReviewCandidate)
WHERE c.status = 'open' AND c.run_id <> $run_id
SET c.status = 'closed'
RETURN count(c) AS closed
