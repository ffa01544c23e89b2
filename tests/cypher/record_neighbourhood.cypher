// Mentions within `max_hops` stated relationships of a mention. The upper
// bound is fixed in the pattern (3) because neither engine takes it as a
// parameter; `$max_hops` trims below that.
MATCH p = (s:SourceRecord {key: $key})-[:STATED_RELATIONSHIP*1..3]-(o:SourceRecord)
WHERE length(p) <= $max_hops AND o.key <> $key
RETURN o.key AS key, min(length(p)) AS hops
ORDER BY hops, key
