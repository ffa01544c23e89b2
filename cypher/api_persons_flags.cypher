// Safeguarding flags of a batch of persons (DataLoader), each with the status of
// the review items a POSSIBLE flag rests on (looked up by indexed id), so that a
// steward's decision shows at once: linked confirms it, rejected withdraws it.
UNWIND $ids AS id
MATCH (p:Person {person_id: id})-[:HAS_FLAG]->(f:Flag)
WITH id, f,
     CASE WHEN f.candidate_ids IS NULL OR size(f.candidate_ids) = 0 THEN [null]
          ELSE f.candidate_ids END AS cids
UNWIND cids AS cid
OPTIONAL MATCH (c:ReviewCandidate {candidate_id: cid})
RETURN id AS person_id, f AS flag, collect(c.status) AS candidate_statuses
