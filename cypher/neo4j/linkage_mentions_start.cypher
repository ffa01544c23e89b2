// Where reading the mentions starts: Neo4j pages them in key order (keyset
// pagination, served in order by the key's index); no last cursor, the first
// empty page ends the reading.
RETURN '' AS after, null AS last
