// mode: write
CREATE INDEX FOR (n:SourceRecord) ON (n.upn)
