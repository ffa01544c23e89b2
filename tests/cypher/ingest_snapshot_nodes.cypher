// Every node with its labels and properties (tests compare whole graphs with it;
// never use on a large graph).
MATCH (n)
RETURN labels(n) AS labels, properties(n) AS props
