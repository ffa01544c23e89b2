// Where reading the persons for flags starts and stops: FalkorDB pages them by
// internal node id windows (`flags_persons_page`), which its label scan seeks to
// directly; ORDER BY on the person id sorted every remaining person for each page
// (quadratic: minutes at a million mentions).
MATCH (p:Person)
RETURN coalesce(min(ID(p)), 0) - 1 AS after, coalesce(max(ID(p)), -1) AS last
