// mode: write
// The stored review queue: pages are bounded range scans over the queue position rank_pos.
CREATE INDEX reviewcandidate_rank_pos IF NOT EXISTS FOR (n:ReviewCandidate) ON (n.rank_pos)
