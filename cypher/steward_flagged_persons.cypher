// Persons with a safeguarding flag (the review queue's "flagged child" filter).
MATCH (p:Person)-[:HAS_FLAG]->(:Flag)
RETURN DISTINCT p.person_id AS person_id
