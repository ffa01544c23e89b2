// mode: write
CREATE INDEX sourcerecord_pnc IF NOT EXISTS FOR (n:SourceRecord) ON (n.pnc_id)
