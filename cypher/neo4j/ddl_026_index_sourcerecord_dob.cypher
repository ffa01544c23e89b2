// mode: write
CREATE INDEX sourcerecord_dob IF NOT EXISTS FOR (n:SourceRecord) ON (n.dob)
