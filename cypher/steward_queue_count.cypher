// How many candidates the review queue holds with these filters (see
// steward_queue_page_consequence; null filters match everything).
MATCH (c:ReviewCandidate)
WHERE c.status IN $statuses
  AND c.probability >= $min_probability AND c.probability <= $max_probability
  AND ($reason IS NULL OR c.reason = $reason)
  AND ($system IS NULL OR c.system_a = $system OR c.system_b = $system)
  AND ($within_system IS NULL OR (c.within_system IS NOT NULL) = $within_system)
  AND ($flagged IS NULL OR coalesce(c.flagged, false) = $flagged)
RETURN count(c) AS total
