// mode: write
CREATE INDEX FOR (n:Person) ON (n.person_id)
