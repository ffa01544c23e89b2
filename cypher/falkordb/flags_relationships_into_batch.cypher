// Person-level relationships arriving at a batch of persons, as a `page` of rows
// [from id, to id, relationship, lives_with, from_date, to_date, sources] in one JSON text: with
// `flags_relationships_batch` (those leaving), every edge touching the batch. (`o`
// unlabelled, filtered after: FalkorDB otherwise plans a scan of every person for it;
// RELATED_TO joins persons only.)
UNWIND $ids AS id
MATCH (p:Person {person_id: id})<-[r:RELATED_TO]-(o)
WITH id, o, r
WHERE o.person_id <> id
RETURN toJSON(collect([o.person_id, id, r.relationship, r.lives_with, r.from_date, r.to_date,
        r.sources])) AS page
