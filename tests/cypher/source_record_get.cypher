MATCH (s:SourceRecord {key: $key})
RETURN s AS record
