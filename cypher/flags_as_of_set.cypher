// mode: write
// Every stored flag states the reference date of the run that last looked at it
// (a flag whose content did not change is not rewritten, only dated).
MATCH (f:Flag)
WHERE f.as_of IS NULL OR f.as_of <> $as_of
SET f.as_of = $as_of
RETURN count(f) AS dated
