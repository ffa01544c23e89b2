// mode: write
// Test-only: some data besides the audit log.
CREATE (:Person {person_id: 'per-1'})-[:HAS_FLAG]->(:Flag {flag_id: 'f-1'})
CREATE (:SourceRecord {key: 'x:nominal:1'})
RETURN 1 AS done
