// mode: write
// A candidate whose content is unchanged but whose queue positions moved (the run
// numbered the queue afresh): only its positions and the run that numbered it.
UNWIND $rows AS row
MATCH (c:ReviewCandidate {candidate_id: row.candidate_id})
SET c.rank_pos = row.rank_pos, c.prob_pos = row.prob_pos,
    c.prob_desc_pos = row.prob_desc_pos, c.new_pos = row.new_pos, c.run_id = row.run_id
