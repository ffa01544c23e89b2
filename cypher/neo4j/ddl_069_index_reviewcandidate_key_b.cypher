// mode: write
// Decisions update the queue items on moved records and persons: looked up by key_b.
CREATE INDEX reviewcandidate_key_b IF NOT EXISTS FOR (n:ReviewCandidate) ON (n.key_b)
