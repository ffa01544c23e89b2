// Audit entries after a sequence number, in order, optionally for one user
// or one person (null = any).
MATCH (e:AuditEntry)
WHERE e.seq > $after_seq
  AND ($user IS NULL OR e.user = $user)
  AND ($person_id IS NULL OR $person_id IN e.persons)
RETURN e AS entry
ORDER BY e.seq
LIMIT $limit
