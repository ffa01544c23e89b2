// Whether the graph holds any node at all: a bulk initial load needs an empty store
// (cpgraph.ingest.bulk). Stops at the first node, so it costs nothing on a big graph.
MATCH (n)
WITH n LIMIT 1
RETURN count(n) AS nodes
