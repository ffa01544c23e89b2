// mode: write
// Decisions update the queue items on moved records and persons: looked up by person_b.
CREATE INDEX FOR (n:ReviewCandidate) ON (n.person_b)
