// Every involvement in a batch of events, as a `page` of rows [person id, record key,
// role, the record's child-contact restriction, event id, type, category, is_concern,
// concern_category, date, end_date, agency, system, referral_source, nfa, outcome,
// raised_by_role, occurrence_type]: the columns of `flags_involvements_batch`.
UNWIND $events AS eid
MATCH (e:Event {event_id: eid})<-[i:INVOLVED_IN]-(s:SourceRecord)-[:RESOLVES_TO]->(p:Person)
RETURN collect([p.person_id, s.key, i.role, s.child_contact_restriction, e.event_id, e.type,
        e.category, e.is_concern, e.concern_category, e.date, e.end_date, e.agency,
        e.system, e.referral_source, e.nfa, e.outcome, e.raised_by_role,
        e.occurrence_type]) AS page
