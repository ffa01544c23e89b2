// Undecided review items that involve any of a batch of record keys (the records of
// the persons whose possible matches are asked for), looked up by the indexed key_a
// and key_b; one row per (record, item), with the other record's key. The persons
// both records resolve to now come from the record loader (a merge or split since
// the run is followed).
UNWIND $keys AS k
MATCH (c:ReviewCandidate {key_a: k})
WHERE c.status IN $statuses
RETURN k AS own_key, c.key_b AS other_key, c AS candidate
UNION ALL
UNWIND $keys AS k
MATCH (c:ReviewCandidate {key_b: k})
WHERE c.status IN $statuses
RETURN k AS own_key, c.key_a AS other_key, c AS candidate
