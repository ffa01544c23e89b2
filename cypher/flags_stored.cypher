// One page of the stored flags, keyset on the flag id: what a run compares its
// flags with (each flag's digest of what it says, its person and its rule).
MATCH (f:Flag)
WHERE f.flag_id > $after
RETURN f.flag_id AS flag_id, f.person_id AS person_id, f.digest AS digest, f.code AS code
ORDER BY flag_id
LIMIT $limit
