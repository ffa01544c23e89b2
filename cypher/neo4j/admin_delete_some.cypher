// mode: write
MATCH (n)
WITH n LIMIT $limit
DETACH DELETE n
