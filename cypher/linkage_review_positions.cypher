// Where the review queue's positions end (each run numbers its candidates from
// there, so positions stay unique across runs).
OPTIONAL MATCH (m:Meta {name: 'review_queue'})
RETURN m.next_pos AS next_pos
