// The highest generated person id (P + 10 digits sort as text), retired included,
// at or above `floor` (the last linkage run's highest id): an index range scan
// over the few ids made since, not a scan of every person.
MATCH (p:Person)
WHERE p.person_id >= $floor AND p.person_id STARTS WITH 'P'
RETURN max(p.person_id) AS max_id
