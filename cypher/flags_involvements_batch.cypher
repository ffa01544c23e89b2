// The events of a batch of persons, with the person's role, the record involved
// and the record's prison facts. No type filter here: FalkorDB plans a filter on
// the event into a label scan (seconds per batch); the caller filters.
UNWIND $ids AS id
MATCH (p:Person {person_id: id})<-[:RESOLVES_TO]-(s:SourceRecord)-[i:INVOLVED_IN]->(e:Event)
RETURN id AS person_id, s.key AS record_key, i.role AS role,
       s.child_contact_restriction AS child_contact_restriction,
       s.release_date AS release_date,
       {event_id: e.event_id, type: e.type, category: e.category, is_concern: e.is_concern,
        concern_category: e.concern_category, date: e.date, end_date: e.end_date,
        agency: e.agency, system: e.system, referral_source: e.referral_source,
        nfa: e.nfa, outcome: e.outcome, raised_by_role: e.raised_by_role,
        occurrence_type: e.occurrence_type} AS event
