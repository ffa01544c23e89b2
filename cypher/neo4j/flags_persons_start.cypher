// Where reading the persons for flags starts: Neo4j pages them in person id order
// (keyset pagination, served in order by the id's index); no last cursor, the
// first empty page ends the reading.
RETURN '' AS after, null AS last
