// mode: write
// The stored review queue: pages are bounded range scans over the queue position rank_pos.
CREATE INDEX FOR (n:ReviewCandidate) ON (n.rank_pos)
