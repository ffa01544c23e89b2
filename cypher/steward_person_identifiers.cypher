// The identifiers on the records of live persons, for a merge's identifier-conflict
// check: one indexed look-up per person id (Person.person_id), then its RESOLVES_TO
// edges; one row per record that carries any identifier.
UNWIND $ids AS id
MATCH (p:Person {person_id: id})
WHERE p.retired IS NULL OR p.retired = false
MATCH (r:SourceRecord)-[:RESOLVES_TO]->(p)
WHERE r.nhs_number IS NOT NULL OR r.upn IS NOT NULL OR r.pnc_id IS NOT NULL
   OR r.prison_number IS NOT NULL
RETURN id AS person_id, r.nhs_number AS nhs_number, r.nhs_number_valid AS nhs_number_valid,
       r.upn AS upn, r.upn_valid AS upn_valid, r.pnc_id AS pnc_id,
       r.pnc_id_valid AS pnc_id_valid, r.prison_number AS prison_number,
       r.prison_number_valid AS prison_number_valid
