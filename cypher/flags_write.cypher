// mode: write
// Safeguarding flags of one run, each linked to the person it is about. Rows:
// {flag_id, person_id, code, title, reason, as_of, computed_at, run_id,
// record_keys, event_ids, person_ids, evidence (JSON string), confidence
// (CONFIRMED | POSSIBLE), candidate_ids (POSSIBLE: the review items behind it),
// digest (of all but computed_at and run_id: a later run rewrites a flag only when
// it changes)}.
UNWIND $rows AS row
MATCH (p:Person {person_id: row.person_id})
CREATE (f:Flag {flag_id: row.flag_id})
SET f.code = row.code, f.title = row.title, f.reason = row.reason, f.as_of = row.as_of,
    f.computed_at = row.computed_at, f.run_id = row.run_id, f.person_id = row.person_id,
    f.record_keys = row.record_keys, f.event_ids = row.event_ids,
    f.person_ids = row.person_ids, f.evidence = row.evidence,
    f.confidence = row.confidence, f.candidate_ids = row.candidate_ids,
    f.digest = row.digest
CREATE (p)-[:HAS_FLAG]->(f)
