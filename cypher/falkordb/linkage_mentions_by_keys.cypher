// The mentions of a batch of keys with the columns linkage reads and the person each
// resolves to now (the columns of `linkage_mentions_page`), as one JSON text: the
// rows an incremental run's cache does not hold as they are now.
UNWIND $keys AS k
MATCH (s:SourceRecord {key: k})
OPTIONAL MATCH (s)-[:RESOLVES_TO]->(p:Person)
WITH collect([s.key, s.system, s.agency, s.kind, s.forename, s.middle_names,
        s.surname, s.forename_m, s.middle_m, s.surname_m, s.former_surname_m, s.aliases_m,
        s.dob, s.sex, s.postcode, s.address, s.nhs_number, s.nhs_number_valid, s.upn,
        s.upn_valid, s.pnc_id, s.pnc_id_valid, s.prison_number, s.cro_number, s.row_hash,
        p.person_id]) AS page
RETURN toJSON(page) AS page
