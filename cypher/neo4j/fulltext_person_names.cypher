CALL db.index.fulltext.queryNodes('person_names', $text) YIELD node, score
RETURN node.key AS key, score
ORDER BY score DESC, key
LIMIT $limit
