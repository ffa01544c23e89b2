// mode: write
// The stored review queue: pages are bounded range scans over the queue position prob_pos.
CREATE INDEX reviewcandidate_prob_pos IF NOT EXISTS FOR (n:ReviewCandidate) ON (n.prob_pos)
