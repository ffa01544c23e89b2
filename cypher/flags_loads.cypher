// Every load and how many times it ran: a scoped flags run treats the events of
// loads it has not seen (or seen run fewer times) as changed.
MATCH (l:Load)
RETURN l.load_id AS load_id, l.runs AS runs
