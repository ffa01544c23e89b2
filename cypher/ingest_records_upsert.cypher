// mode: write
// Person mentions, one list-shaped row each (column order: RECORD_COLUMNS in
// src/cpgraph/ingest/writer.py: the mention's properties, then its facts — one slot
// per known fact name — then its address key; lists are cheaper to send than maps).
//
// A new mention is created with all its properties at once and joined to its
// Address in the same step (FalkorDB re-indexes a node on every SET after its
// creation, which more than doubles the cost). For a mention already stored, the
// AT_ADDRESS edge is kept up to date (an address that changes in a later extract
// adds an edge; the old one keeps its last_seen: who used to live where); then a
// row whose row_hash equals the stored one is skipped, so a reload changes
// nothing, and when a different load changes a mention its previous properties
// are kept first as a RecordVersion (never silently lost). Facts outside the
// slots go through ingest_record_facts_upsert.
UNWIND $rows AS r
OPTIONAL MATCH (s:SourceRecord {key: r[0]})
FOREACH (_ IN CASE WHEN s IS NULL THEN [1] ELSE [] END |
  CREATE (n:SourceRecord {
    key: r[0], system: r[1], agency: r[2], kind: r[3], local_id: r[4], forename: r[5],
    middle_names: r[6], surname: r[7], forename_m: r[8], middle_m: r[9], surname_m: r[10],
    former_surname: r[11], former_surname_m: r[12], aliases: r[13], aliases_m: r[14],
    name_text: r[15], dob: r[16], sex: r[17], postcode: r[18], postcode_valid: r[19],
    address: r[20], nhs_number: r[21], nhs_number_valid: r[22], upn: r[23],
    upn_valid: r[24], former_upn: r[25], pnc_id: r[26], pnc_id_valid: r[27],
    cro_number: r[28], prison_number: r[29], booking_id: r[30], load_id: r[31],
    row_hash: r[32], updated_at: r[33], school_urn: r[34], school_name: r[35],
    admission_date: r[36], leaving_date: r[37], parental_responsibility: r[38],
    contact_relationship: r[39], contact_priority: r[40], relationship_code: r[41],
    relationship_text: r[42], prison_code: r[43], reception_date: r[44],
    release_date: r[45], offence_category: r[46], child_contact_restriction: r[47],
    approved_visitor: r[48], next_of_kin: r[49], visitor_relationship: r[50]})
  FOREACH (_ IN CASE WHEN r[51] IS NULL THEN [] ELSE [1] END |
    MERGE (a:Address {key: r[51]})
    ON CREATE SET a.line = r[20], a.postcode = r[18], a.postcode_valid = r[19]
    CREATE (n)-[:AT_ADDRESS {first_seen: r[33], last_seen: r[33], system: r[1]}]->(a)))
WITH s, r
WHERE s IS NOT NULL
FOREACH (_ IN CASE WHEN r[51] IS NULL THEN [] ELSE [1] END |
  MERGE (a:Address {key: r[51]})
  ON CREATE SET a.line = r[20], a.postcode = r[18], a.postcode_valid = r[19]
  MERGE (s)-[x:AT_ADDRESS]->(a)
  ON CREATE SET x.first_seen = r[33], x.system = r[1]
  SET x.last_seen = r[33])
WITH s, r, s.load_id AS old_load
WHERE s.row_hash IS NULL OR s.row_hash <> r[32]
FOREACH (_ IN CASE WHEN s.row_hash IS NOT NULL AND old_load <> r[31] THEN [1] ELSE [] END |
  CREATE (s)-[:HAS_VERSION {superseded_by: r[31], superseded_at: r[33]}]->(v:RecordVersion)
  SET v += properties(s))
SET
    s.system = r[1], s.agency = r[2], s.kind = r[3], s.local_id = r[4], s.forename = r[5],
    s.middle_names = r[6], s.surname = r[7], s.forename_m = r[8], s.middle_m = r[9],
    s.surname_m = r[10], s.former_surname = r[11], s.former_surname_m = r[12],
    s.aliases = r[13], s.aliases_m = r[14], s.name_text = r[15], s.dob = r[16],
    s.sex = r[17], s.postcode = r[18], s.postcode_valid = r[19], s.address = r[20],
    s.nhs_number = r[21], s.nhs_number_valid = r[22], s.upn = r[23], s.upn_valid = r[24],
    s.former_upn = r[25], s.pnc_id = r[26], s.pnc_id_valid = r[27], s.cro_number = r[28],
    s.prison_number = r[29], s.booking_id = r[30], s.load_id = r[31], s.row_hash = r[32],
    s.updated_at = r[33], s.school_urn = r[34], s.school_name = r[35],
    s.admission_date = r[36], s.leaving_date = r[37], s.parental_responsibility = r[38],
    s.contact_relationship = r[39], s.contact_priority = r[40],
    s.relationship_code = r[41], s.relationship_text = r[42], s.prison_code = r[43],
    s.reception_date = r[44], s.release_date = r[45], s.offence_category = r[46],
    s.child_contact_restriction = r[47], s.approved_visitor = r[48], s.next_of_kin = r[49],
    s.visitor_relationship = r[50]
