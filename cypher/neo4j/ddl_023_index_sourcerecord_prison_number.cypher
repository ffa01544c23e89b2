// mode: write
CREATE INDEX sourcerecord_prison_number IF NOT EXISTS FOR (n:SourceRecord) ON (n.prison_number)
