// mode: write
CREATE INDEX sourcerecord_postcode IF NOT EXISTS FOR (n:SourceRecord) ON (n.postcode)
