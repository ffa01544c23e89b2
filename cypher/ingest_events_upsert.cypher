// mode: write
// Events (occurrences, encounters, flags, concerns, referrals, plans, custody,
// visits...), keyed by event_id = {system}:{type}:{id}. r[11] holds the facts.
UNWIND $rows AS r
MERGE (e:Event {event_id: r[0]})
SET e.type = r[1], e.category = r[2], e.is_concern = r[3], e.concern_category = r[4],
    e.date = r[5], e.datetime = r[6], e.end_date = r[7], e.agency = r[8], e.system = r[9],
    e.load_id = r[10]
SET e += r[11]
