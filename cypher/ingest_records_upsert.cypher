// mode: write
// Person mentions, one list-shaped row each (column order: RECORD_COLUMNS in
// src/cpgraph/ingest/writer.py; lists are cheaper to send than maps). A row whose
// row_hash equals the stored one is skipped, so a reload changes nothing. When a
// different load changes a mention, its previous properties are kept first as a
// RecordVersion (never silently lost). r[34] holds the kind-specific facts.
UNWIND $rows AS r
MERGE (s:SourceRecord {key: r[0]})
WITH s, r, s.row_hash AS old_hash, s.load_id AS old_load
WHERE old_hash IS NULL OR old_hash <> r[32]
FOREACH (_ IN CASE WHEN old_hash IS NOT NULL AND old_load <> r[31] THEN [1] ELSE [] END |
  CREATE (s)-[:HAS_VERSION {superseded_by: r[31], superseded_at: r[33]}]->(v:RecordVersion)
  SET v += properties(s))
SET s.system = r[1], s.agency = r[2], s.kind = r[3], s.local_id = r[4],
    s.forename = r[5], s.middle_names = r[6], s.surname = r[7],
    s.forename_m = r[8], s.middle_m = r[9], s.surname_m = r[10],
    s.former_surname = r[11], s.former_surname_m = r[12],
    s.aliases = r[13], s.aliases_m = r[14], s.name_text = r[15],
    s.dob = r[16], s.sex = r[17], s.postcode = r[18], s.postcode_valid = r[19],
    s.address = r[20], s.nhs_number = r[21], s.nhs_number_valid = r[22],
    s.upn = r[23], s.upn_valid = r[24], s.former_upn = r[25],
    s.pnc_id = r[26], s.pnc_id_valid = r[27], s.cro_number = r[28],
    s.prison_number = r[29], s.booking_id = r[30], s.load_id = r[31],
    s.row_hash = r[32], s.updated_at = r[33]
SET s += r[34]
