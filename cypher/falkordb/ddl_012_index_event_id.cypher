// mode: write
CREATE INDEX FOR (n:Event) ON (n.event_id)
