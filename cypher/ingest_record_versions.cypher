// The previous versions of a mention, newest first.
MATCH (s:SourceRecord {key: $key})-[h:HAS_VERSION]->(v:RecordVersion)
RETURN properties(v) AS props, h.superseded_by AS superseded_by, h.superseded_at AS superseded_at
ORDER BY superseded_at DESC
