// mode: write
// Drop person-level relationships a newer projection did not write.
MATCH ()-[r:RELATED_TO]->()
WHERE r.run_id IS NULL OR r.run_id <> $run_id
WITH r LIMIT $limit
DELETE r
RETURN count(*) AS deleted
