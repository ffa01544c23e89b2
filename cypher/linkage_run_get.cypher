MATCH (m:Meta {name: 'linkage'})
RETURN m.run_id AS run_id, m.at AS at, m.summary AS summary, m.model AS model,
       m.spec_version AS spec_version, m.spec AS spec
