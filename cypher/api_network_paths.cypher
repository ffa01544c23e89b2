// Relationship paths from a person, at most 3 hops (the pattern bound; no
// engine takes it as a parameter), trimmed to `$depth`, optionally only
// through `$types` (empty list = any), at most `$limit` paths.
MATCH path = (p:Person {person_id: $person_id})-[:RELATED_TO*1..3]-(o:Person)
WHERE length(path) <= $depth AND o.person_id <> $person_id
  AND all(r IN relationships(path) WHERE size($types) = 0 OR r.relationship IN $types)
WITH path LIMIT $limit
RETURN [r IN relationships(path) | {from_id: startNode(r).person_id, to_id: endNode(r).person_id,
        relationship: r.relationship, lives_with: r.lives_with, from_date: r.from_date,
        to_date: r.to_date, sources: r.sources}] AS rels
