// The relationships stated by the mentions of one page (internal id in
// ($after, $upto]), as one JSON text (see `linkage_mentions_page`).
MATCH (s:SourceRecord)-[r:STATED_RELATIONSHIP]->(o:SourceRecord)
WHERE ID(s) > $after AND ID(s) <= $upto
RETURN toJSON(collect([s.key, o.key, r.relationship, r.lives_with, r.from_date, r.to_date,
        r.source_key])) AS page
