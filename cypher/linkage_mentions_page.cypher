// One page of person mentions in key order (keyset pagination on the indexed
// key), with the columns linkage reads, the person each resolves to now, and
// the relationships it states. Lists, not maps: cheaper to send and parse.
MATCH (s:SourceRecord)
WHERE s.key > $after
WITH s
ORDER BY s.key
LIMIT $limit
OPTIONAL MATCH (s)-[:RESOLVES_TO]->(p:Person)
OPTIONAL MATCH (s)-[r:STATED_RELATIONSHIP]->(o:SourceRecord)
WITH s, p, collect([o.key, r.relationship, r.lives_with, r.from_date, r.to_date, r.source_key]) AS rels
RETURN [s.key, s.system, s.agency, s.kind, s.forename, s.middle_names, s.surname,
        s.forename_m, s.middle_m, s.surname_m, s.former_surname_m, s.aliases_m, s.dob, s.sex,
        s.postcode, s.address, s.nhs_number, s.nhs_number_valid, s.upn, s.upn_valid,
        s.pnc_id, s.pnc_id_valid, s.prison_number, s.cro_number, s.row_hash,
        p.person_id] AS m,
       rels
ORDER BY s.key
