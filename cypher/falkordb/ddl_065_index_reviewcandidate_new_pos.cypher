// mode: write
// The stored review queue: pages are bounded range scans over the queue position new_pos.
CREATE INDEX FOR (n:ReviewCandidate) ON (n.new_pos)
