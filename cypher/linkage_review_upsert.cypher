// mode: write
// Uncertain pairs for the data stewards. A candidate already decided keeps
// its decision; an open one is refreshed with this run's scores, and a stale
// one (dropped by an earlier run) that is uncertain again is reopened.
UNWIND $rows AS row
MERGE (c:ReviewCandidate {candidate_id: row.candidate_id})
ON CREATE SET c.status = 'open', c.created_at = row.at
SET c.status = CASE WHEN c.status = 'stale' THEN 'open' ELSE c.status END,
    c.key_a = row.key_a, c.key_b = row.key_b, c.probability = row.probability,
    c.weight = row.weight, c.breakdown = row.breakdown, c.run_id = row.run_id,
    c.person_a = row.person_a, c.person_b = row.person_b
