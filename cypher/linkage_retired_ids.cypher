// Person ids retired by earlier runs: never handed out again.
MATCH (p:Person)
WHERE p.retired = true
RETURN p.person_id AS person_id
