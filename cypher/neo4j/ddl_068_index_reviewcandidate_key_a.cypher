// mode: write
// Decisions update the queue items on moved records and persons: looked up by key_a.
CREATE INDEX reviewcandidate_key_a IF NOT EXISTS FOR (n:ReviewCandidate) ON (n.key_a)
