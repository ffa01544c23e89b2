// mode: write
// Decisions update the queue items on moved records and persons: looked up by key_a.
CREATE INDEX FOR (n:ReviewCandidate) ON (n.key_a)
