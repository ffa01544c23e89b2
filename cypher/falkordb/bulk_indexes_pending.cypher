// Indexes still being built (FalkorDB builds an index over existing nodes in the
// background); a bulk load waits for none before it reports done.
CALL db.indexes() YIELD status
WITH status WHERE status <> 'OPERATIONAL'
RETURN count(*) AS pending
