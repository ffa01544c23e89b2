// Where reading the mentions starts and stops: FalkorDB pages them by internal
// node id windows (`linkage_mentions_page`), which its label scan seeks to
// directly; ORDER BY on the key would sort every remaining mention for each page.
MATCH (s:SourceRecord)
RETURN coalesce(min(ID(s)), 0) - 1 AS after, coalesce(max(ID(s)), -1) AS last
