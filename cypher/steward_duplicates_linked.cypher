// Records of one system's own index (same system, same master kind) that resolve
// to one person: duplicates linkage or a steward has confirmed, with how each record
// was linked and at what probability.
MATCH (a:SourceRecord {system: $system})-[ra:RESOLVES_TO]->(p:Person)
MATCH (p)<-[rb:RESOLVES_TO]-(b:SourceRecord {system: $system})
WHERE a.key < b.key AND a.kind = b.kind AND a.kind IN $kinds
RETURN a.key AS record_a, b.key AS record_b, ra.probability AS probability_a,
       rb.probability AS probability_b, ra.method AS method_a, rb.method AS method_b
ORDER BY record_a, record_b
