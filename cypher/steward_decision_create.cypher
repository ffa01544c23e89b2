// mode: write
// An append-only steward decision (merge, split, unlink). `pairs`, `before`
// and `after` are JSON strings; `content_hash` is what the audit entry names.
CREATE (d:Decision {decision_id: $decision_id, kind: $kind, decision: $decision,
                    user: $user, role: $role, at: $at, reason: $reason,
                    candidate_id: $candidate_id, person_ids: $person_ids,
                    record_keys: $record_keys, pairs: $pairs, before: $before,
                    after: $after, content_hash: $content_hash,
                    override: $override, purpose: $purpose})
RETURN d.decision_id AS decision_id
