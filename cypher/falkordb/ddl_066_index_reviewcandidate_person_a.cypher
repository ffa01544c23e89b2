// mode: write
// Decisions update the queue items on moved records and persons: looked up by person_a.
CREATE INDEX FOR (n:ReviewCandidate) ON (n.person_a)
