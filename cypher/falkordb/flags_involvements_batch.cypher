// The events of a batch of persons, as a `page` of rows [person id, record
// key, role, the record's child-contact restriction, event id, type, category,
// is_concern, concern_category, date, end_date, agency, system, referral_source,
// nfa, outcome, raised_by_role, occurrence_type] as one JSON text (one parse, not
// one per value). No type filter here: FalkorDB plans a filter on the event into a
// label scan (seconds per batch); the caller filters.
UNWIND $ids AS id
MATCH (p:Person {person_id: id})<-[:RESOLVES_TO]-(s:SourceRecord)-[i:INVOLVED_IN]->(e:Event)
RETURN toJSON(collect([id, s.key, i.role, s.child_contact_restriction, e.event_id, e.type,
        e.category, e.is_concern, e.concern_category, e.date, e.end_date, e.agency,
        e.system, e.referral_source, e.nfa, e.outcome, e.raised_by_role,
        e.occurrence_type])) AS page
