// mode: write
// The stored review queue: pages are bounded range scans over the queue position prob_desc_pos.
CREATE INDEX FOR (n:ReviewCandidate) ON (n.prob_desc_pos)
