// mode: write
// The stored review queue: pages are bounded range scans over the queue position new_pos.
CREATE INDEX reviewcandidate_new_pos IF NOT EXISTS FOR (n:ReviewCandidate) ON (n.new_pos)
