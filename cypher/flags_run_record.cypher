// mode: write
// The flags run just written: what the next one may scope itself by (see
// `flags_run_last`).
MERGE (m:Meta {name: 'flags'})
SET m.run_id = $run_id, m.at = $at, m.started_at = $started_at, m.as_of = $as_of,
    m.rules = $rules, m.loads = $loads, m.scoped = $scoped
