// mode: write
// ingest MERGEs on this key; without an index every MERGE is a label scan.
CREATE INDEX FOR (n:QuarantinedRow) ON (n.key)
