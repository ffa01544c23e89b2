// mode: write
// Delete flags an older run wrote (in bounded batches; call until 0).
MATCH (f:Flag)
WHERE f.run_id IS NULL OR f.run_id <> $run_id
WITH f LIMIT $limit
DETACH DELETE f
RETURN count(*) AS deleted
