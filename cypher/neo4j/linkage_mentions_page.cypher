// One page of person mentions in key order (keyset pagination on the indexed
// key), with the columns linkage reads and the person each resolves to now.
// Lists, not maps: cheaper to send and parse. `next` is the page's last key
// (null for an empty page, which ends the reading).
MATCH (s:SourceRecord)
WHERE s.key > $after
WITH s
ORDER BY s.key
LIMIT $limit
OPTIONAL MATCH (s)-[:RESOLVES_TO]->(p:Person)
WITH s, p
ORDER BY s.key
RETURN collect([s.key, s.system, s.agency, s.kind, s.forename, s.middle_names, s.surname,
        s.forename_m, s.middle_m, s.surname_m, s.former_surname_m, s.aliases_m, s.dob, s.sex,
        s.postcode, s.address, s.nhs_number, s.nhs_number_valid, s.upn, s.upn_valid,
        s.pnc_id, s.pnc_id_valid, s.prison_number, s.cro_number, s.row_hash,
        p.person_id]) AS page,
       max(s.key) AS next
