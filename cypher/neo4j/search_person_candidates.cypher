// Person search candidates in one round trip, only the columns ranking needs:
// the best $limit full-text hits for $exact (the tokens as spelt, nothing else),
// the best $limit for $text (with fuzzy and phonetic forms), then up to
// $dob_limit mentions recorded with one of $dobs (the searched date of birth
// and its day/month transposition; empty when no date was asked). Each with the
// person it resolves to; a mention may come more than once.
CALL db.index.fulltext.queryNodes('person_names', $exact) YIELD node, score
WITH node, score
ORDER BY score DESC, node.key
LIMIT $limit
OPTIONAL MATCH (node)-[:RESOLVES_TO]->(p:Person)
RETURN node.key AS key, 'exact' AS via, node.forename AS forename, node.surname AS surname,
       node.aliases AS aliases, node.name_text AS name_text, node.dob AS dob,
       node.postcode AS postcode, p.person_id AS person_id
UNION ALL
CALL db.index.fulltext.queryNodes('person_names', $text) YIELD node, score
WITH node, score
ORDER BY score DESC, node.key
LIMIT $limit
OPTIONAL MATCH (node)-[:RESOLVES_TO]->(p:Person)
RETURN node.key AS key, 'name' AS via, node.forename AS forename, node.surname AS surname,
       node.aliases AS aliases, node.name_text AS name_text, node.dob AS dob,
       node.postcode AS postcode, p.person_id AS person_id
UNION ALL
UNWIND $dobs AS d
MATCH (node:SourceRecord {dob: d})
WITH node
ORDER BY node.key
LIMIT $dob_limit
OPTIONAL MATCH (node)-[:RESOLVES_TO]->(p:Person)
RETURN node.key AS key, 'dob' AS via, node.forename AS forename, node.surname AS surname,
       node.aliases AS aliases, node.name_text AS name_text, node.dob AS dob,
       node.postcode AS postcode, p.person_id AS person_id
