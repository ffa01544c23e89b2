// mode: write
// Relationships as the source stated them: the target is `relationship` of the
// source. One edge per (source, target, source_key); rows: [from key, to key,
// source_key, relationship, relationship_recorded, lives_with, from_date,
// to_date, system, load_id]. A new edge is created with every property at once;
// an edge already stored is updated in place.
UNWIND $rows AS r
MATCH (a:SourceRecord {key: r[0]})
MATCH (b:SourceRecord {key: r[1]})
OPTIONAL MATCH (a)-[x:STATED_RELATIONSHIP {source_key: r[2]}]->(b)
FOREACH (_ IN CASE WHEN x IS NULL THEN [1] ELSE [] END |
  CREATE (a)-[:STATED_RELATIONSHIP {
    source_key: r[2], relationship: r[3], relationship_recorded: r[4], lives_with: r[5],
    from_date: r[6], to_date: r[7], system: r[8], load_id: r[9]}]->(b))
WITH x, r
WHERE x IS NOT NULL
SET x.relationship = r[3], x.relationship_recorded = r[4], x.lives_with = r[5],
    x.from_date = r[6], x.to_date = r[7], x.system = r[8], x.load_id = r[9]
