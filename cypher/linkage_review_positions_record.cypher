// mode: write
// The review queue's next free position, after a run numbered its candidates from
// `base_pos`.
MERGE (m:Meta {name: 'review_queue'})
SET m.next_pos = $next_pos, m.base_pos = $base_pos, m.run_id = $run_id
