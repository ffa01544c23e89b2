// mode: write
// A new resolved person; fails on the uniqueness constraint if the id exists.
CREATE (p:Person {person_id: $person_id, created_at: $created_at})
RETURN p.person_id AS person_id
