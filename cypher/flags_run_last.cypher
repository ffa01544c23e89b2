// What the last flags run was computed over: its id, when it started, its reference
// date, rule-table digest and the loads it had seen ("load_id:runs"); none before
// the first.
MATCH (m:Meta {name: 'flags'})
RETURN m.run_id AS run_id, m.started_at AS started_at, m.as_of AS as_of, m.rules AS rules,
       m.loads AS loads
