CALL db.idx.fulltext.queryNodes('SourceRecord', $text) YIELD node, score
RETURN node.key AS key, score
ORDER BY score DESC, key
LIMIT $limit
