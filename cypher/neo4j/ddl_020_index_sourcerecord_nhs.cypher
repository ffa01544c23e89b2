// mode: write
CREATE INDEX sourcerecord_nhs IF NOT EXISTS FOR (n:SourceRecord) ON (n.nhs_number)
