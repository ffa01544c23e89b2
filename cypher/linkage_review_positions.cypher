// Where the review queue's positions end (each run numbers its candidates from
// there, so positions stay unique across runs), where the last numbering began
// and the run that made it (a run whose queue is unchanged keeps that numbering).
OPTIONAL MATCH (m:Meta {name: 'review_queue'})
RETURN m.next_pos AS next_pos, m.base_pos AS base_pos, m.run_id AS run_id
