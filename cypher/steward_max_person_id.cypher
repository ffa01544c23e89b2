// The highest generated person id (P + 10 digits sort as text), retired included.
MATCH (p:Person)
WHERE p.person_id STARTS WITH 'P'
RETURN max(p.person_id) AS max_id
