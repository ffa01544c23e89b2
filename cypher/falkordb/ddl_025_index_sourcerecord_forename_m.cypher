// mode: write
CREATE INDEX FOR (n:SourceRecord) ON (n.forename_m)
