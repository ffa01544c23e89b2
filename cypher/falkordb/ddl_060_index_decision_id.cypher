// mode: write
// Steward decisions are read in decision_id order (ids are time-ordered).
CREATE INDEX FOR (n:Decision) ON (n.decision_id)
