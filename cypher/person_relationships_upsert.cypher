// mode: write
// Person-level relationships projected from stated ones. One edge per
// (from, to, relationship); `relationship` is what `to` is to `from`.
UNWIND $rows AS row
MATCH (a:Person {person_id: row.from_id})
MATCH (b:Person {person_id: row.to_id})
MERGE (a)-[r:RELATED_TO {relationship: row.relationship}]->(b)
SET r.lives_with = row.lives_with,
    r.from_date = row.from_date,
    r.to_date = row.to_date,
    r.sources = row.sources,
    r.run_id = row.run_id
