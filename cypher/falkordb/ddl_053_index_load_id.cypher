// mode: write
// ingest MERGEs on this key; without an index every MERGE is a label scan.
CREATE INDEX FOR (n:Load) ON (n.load_id)
