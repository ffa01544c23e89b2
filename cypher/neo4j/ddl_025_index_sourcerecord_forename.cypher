// mode: write
CREATE INDEX sourcerecord_forename IF NOT EXISTS FOR (n:SourceRecord) ON (n.forename_m)
