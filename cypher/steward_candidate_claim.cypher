// mode: write
// Optimistic concurrency on a review candidate: the decision is recorded only
// when the candidate is still at `$expected_version`; the version is checked
// and bumped, and the Decision created, in this one statement. Writing the
// version first takes the candidate's write lock (Neo4j), so a concurrent
// claim re-reads the bumped value and returns no row (a conflict).
MATCH (c:ReviewCandidate {candidate_id: $candidate_id})
SET c.version = coalesce(c.version, 0)
WITH c
WHERE c.version = $expected_version
SET c.version = $expected_version + 1, c.status = $status, c.decision = $decision,
    c.decided_by = $user, c.decided_at = $at, c.decision_id = $decision_id
CREATE (d:Decision {decision_id: $decision_id, kind: 'match', decision: $decision,
                    user: $user, role: $role, at: $at, reason: $reason,
                    candidate_id: $candidate_id, person_ids: $person_ids,
                    record_keys: $record_keys, pairs: $pairs, before: $before,
                    after: $after, content_hash: $content_hash,
                    override: $override, purpose: $purpose})
CREATE (d)-[:DECIDES]->(c)
RETURN d.decision_id AS decision_id, c.version AS version
