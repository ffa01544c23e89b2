// mode: write
// The stored review queue, written as linkage decides it. A candidate already
// decided keeps its decision; an open one is refreshed with this run's scores
// (its records' row hashes too, so it is no longer stale); one closed by an
// earlier run, or settled by a decision, that is uncertain again is reopened.
// Positions (rank_pos, prob_pos, prob_desc_pos, new_pos) are unique numbers in
// each order, indexed, for bounded page reads; `steps` is the weight waterfall
// of this run's spec and model; `within_system` names the system when both
// records are of one master index (a suspected duplicate inside that system);
// `digest` hashes what the row says beyond its run and positions (a later run
// rewrites only a candidate whose digest changed).
UNWIND $rows AS row
MERGE (c:ReviewCandidate {candidate_id: row.candidate_id})
ON CREATE SET c.status = 'open', c.created_at = row.at
SET c.status = CASE WHEN c.status IN ['stale', 'closed', 'settled'] THEN 'open'
                    ELSE c.status END,
    c.key_a = row.key_a, c.key_b = row.key_b, c.probability = row.probability,
    c.weight = row.weight, c.breakdown = row.breakdown, c.run_id = row.run_id,
    c.person_a = row.person_a, c.person_b = row.person_b, c.reason = row.reason,
    c.consequence = row.consequence, c.rank_pos = row.rank_pos,
    c.prob_pos = row.prob_pos, c.prob_desc_pos = row.prob_desc_pos,
    c.new_pos = row.new_pos, c.prior = row.prior, c.steps = row.steps,
    c.impact_reasons = row.impact_reasons, c.system_a = row.system_a,
    c.system_b = row.system_b, c.hash_a = row.hash_a, c.hash_b = row.hash_b,
    c.flagged = row.flagged, c.evidence = row.evidence,
    c.within_system = row.within_system, c.digest = row.digest
