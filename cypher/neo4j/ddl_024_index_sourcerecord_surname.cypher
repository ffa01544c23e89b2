// mode: write
CREATE INDEX sourcerecord_surname IF NOT EXISTS FOR (n:SourceRecord) ON (n.surname_m)
