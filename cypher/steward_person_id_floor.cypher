// The highest person id the last linkage run used (null before any run).
OPTIONAL MATCH (m:Meta {name: 'linkage'})
RETURN m.max_person_id AS floor
