// mode: write
CREATE INDEX FOR (n:SourceRecord) ON (n.nhs_number)
