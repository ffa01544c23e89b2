// Indexes still being populated; a bulk load waits for none before it reports done.
SHOW INDEXES YIELD state
WHERE state <> 'ONLINE'
RETURN count(*) AS pending
