// What the store holds of a run's candidates, to write only what changed: when each
// was first queued (the NEWEST order), its status (closed, settled or stale ones are
// reopened by the upsert), the persons a steward's decision may have moved it to,
// its content digest (what the last upsert wrote) and its positions.
UNWIND $ids AS id
MATCH (c:ReviewCandidate {candidate_id: id})
RETURN id AS candidate_id, c.created_at AS created_at, c.status AS status,
       c.person_a AS person_a, c.person_b AS person_b, c.digest AS digest,
       c.rank_pos AS rank_pos, c.prob_pos AS prob_pos, c.prob_desc_pos AS prob_desc_pos,
       c.new_pos AS new_pos
