// Every candidate's persons and flagged mark (the marks are refreshed by difference).
MATCH (c:ReviewCandidate)
RETURN c.candidate_id AS candidate_id, c.person_a AS person_a, c.person_b AS person_b,
       coalesce(c.flagged, false) AS flagged
