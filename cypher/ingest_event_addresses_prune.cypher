// mode: write
// A re-run of one extract replaces what its earlier run said: an event's OCCURRED_AT
// edge to an address its row no longer states is removed (an event happened in one
// place). Rows: [event_id, its address key now (null: no address)]. Returns the
// address keys whose edges went, with how many, for the orphan sweep.
UNWIND $rows AS r
MATCH (e:Event {event_id: r[0]})-[x:OCCURRED_AT]->(a:Address)
WHERE r[1] IS NULL OR a.key <> r[1]
WITH a.key AS key, x
DELETE x
RETURN key, count(*) AS edges
