// The relationships stated by the mentions of one page (key in ($after, $upto]).
MATCH (s:SourceRecord)-[r:STATED_RELATIONSHIP]->(o:SourceRecord)
WHERE s.key > $after AND s.key <= $upto
RETURN collect([s.key, o.key, r.relationship, r.lives_with, r.from_date, r.to_date,
        r.source_key]) AS page
