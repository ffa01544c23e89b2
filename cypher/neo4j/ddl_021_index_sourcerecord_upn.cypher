// mode: write
CREATE INDEX sourcerecord_upn IF NOT EXISTS FOR (n:SourceRecord) ON (n.upn)
