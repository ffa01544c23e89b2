// mode: write
// Test fixture: review candidates with the properties a flags run reads.
UNWIND $rows AS row
MERGE (c:ReviewCandidate {candidate_id: row.candidate_id})
SET c.key_a = row.key_a, c.key_b = row.key_b, c.probability = row.probability,
    c.reason = row.reason, c.evidence = row.evidence, c.status = row.status
