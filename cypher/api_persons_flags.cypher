// Safeguarding flags of a batch of persons (DataLoader).
UNWIND $ids AS id
MATCH (p:Person {person_id: id})-[:HAS_FLAG]->(f:Flag)
RETURN id AS person_id, f AS flag
