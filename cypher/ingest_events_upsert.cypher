// mode: write
// Events (occurrences, encounters, flags, concerns, referrals, plans, custody,
// visits...), keyed by event_id = {system}:{type}:{id}. Rows: EVENT_COLUMNS in
// src/cpgraph/ingest/writer.py; r[11] holds the facts (a map), r[12] is false when
// every fact name is one of EVENT_FACT_SLOTS.
//
// A new event is created with all its properties at once (FalkorDB re-indexes a
// node on every SET after its creation): the known fact names are read out of the
// facts map inline (a missing key is null, so not stored), other names are added by
// a SET only when the row has some. An event already stored is updated in place.
// `digest` (r[13]) hashes the row but for its load; `changed_in` is the load that
// created the event or last changed it (a new involvement too: see
// `ingest_involvements_upsert`), which a scoped flags run reads.
UNWIND $rows AS r
OPTIONAL MATCH (e:Event {event_id: r[0]})
FOREACH (f IN CASE WHEN e IS NULL THEN [r[11]] ELSE [] END |
  CREATE (n:Event {
    event_id: r[0], type: r[1], category: r[2], is_concern: r[3],
    concern_category: r[4], date: r[5], datetime: r[6], end_date: r[7], agency: r[8],
    system: r[9], load_id: r[10], digest: r[13], changed_in: r[10],
    referral_source: f.referral_source,
    referrer_name: f.referrer_name, summary: f.summary, nfa: f.nfa, outcome: f.outcome,
    factors: f.factors, term: f.term, sessions_possible: f.sessions_possible,
    sessions_authorised_absence: f.sessions_authorised_absence,
    sessions_unauthorised_absence: f.sessions_unauthorised_absence,
    sessions: f.sessions, reason: f.reason, raised_by_role: f.raised_by_role,
    referred_to_childrens_services: f.referred_to_childrens_services,
    encounter_class: f.encounter_class, snomed_code: f.snomed_code, flag: f.flag,
    author: f.author, occurrence_type: f.occurrence_type, dash_risk: f.dash_risk,
    marac_referral: f.marac_referral, children_present: f.children_present,
    prison_code: f.prison_code, offence_category: f.offence_category,
    booking_id: f.booking_id})
  FOREACH (_ IN CASE WHEN r[12] = false THEN [] ELSE [1] END | SET n += f))
WITH e, r
WHERE e IS NOT NULL
// (the load that last changed it, by its digest: what a scoped flags run reads)
SET e.changed_in = CASE WHEN e.digest IS NULL OR e.digest <> r[13] THEN r[10]
                        ELSE e.changed_in END
SET e.type = r[1], e.category = r[2], e.is_concern = r[3], e.concern_category = r[4],
    e.date = r[5], e.datetime = r[6], e.end_date = r[7], e.agency = r[8], e.system = r[9],
    e.load_id = r[10], e.digest = r[13]
SET e += r[11]
