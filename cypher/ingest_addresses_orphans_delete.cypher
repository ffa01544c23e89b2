// mode: write
// Remove the addresses among $keys that nothing reaches any more (a stale edge was
// their last one). Returns how many went.
UNWIND $keys AS k
MATCH (a:Address {key: k})
OPTIONAL MATCH (a)-[y]-()
WITH a, count(y) AS edges
WHERE edges = 0
DELETE a
RETURN count(*) AS deleted
