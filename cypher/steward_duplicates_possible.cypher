// Suspected duplicates inside one system's own index that linkage left to a steward:
// review candidates whose two records are of that system's index (`within_system`,
// set by linkage), with their probability, why they were kept apart and the evidence
// beyond a shared name and birth date.
MATCH (c:ReviewCandidate)
WHERE c.within_system = $system AND c.status IN $statuses
RETURN c.key_a AS record_a, c.key_b AS record_b, c.probability AS probability,
       c.status AS status, c.reason AS reason, c.evidence AS evidence
ORDER BY record_a, record_b
