// mode: write
CREATE INDEX FOR (n:SourceRecord) ON (n.pnc_id)
