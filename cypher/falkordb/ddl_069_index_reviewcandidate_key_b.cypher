// mode: write
// Decisions update the queue items on moved records and persons: looked up by key_b.
CREATE INDEX FOR (n:ReviewCandidate) ON (n.key_b)
