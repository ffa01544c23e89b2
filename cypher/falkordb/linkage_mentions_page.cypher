// The person mentions whose internal id lies in ($after, $after + $limit], with
// the columns linkage reads and the person each resolves to now, as one JSON
// text: the client parses one string instead of a value per column and row
// (the page is read ~40x faster). `next` is where the following window starts;
// a window may hold no mention (ids are shared with other labels).
MATCH (s:SourceRecord)
WHERE ID(s) > $after AND ID(s) <= $after + $limit
OPTIONAL MATCH (s)-[:RESOLVES_TO]->(p:Person)
WITH collect([s.key, s.system, s.agency, s.kind, s.forename, s.middle_names,
        s.surname, s.forename_m, s.middle_m, s.surname_m, s.former_surname_m, s.aliases_m,
        s.dob, s.sex, s.postcode, s.address, s.nhs_number, s.nhs_number_valid, s.upn,
        s.upn_valid, s.pnc_id, s.pnc_id_valid, s.prison_number, s.cro_number, s.row_hash,
        p.person_id]) AS page
// (aggregated alone: one row even for an empty window)
RETURN toJSON(page) AS page, $after + $limit AS next
