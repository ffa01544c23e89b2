// Every operation the app sends, with a variant per role where roles see different
// fields: a role is only ever asked for fields its policy allows (docs/api.md), so
// nothing it may not see is sent to its browser.

export const SEARCH = `
query Search($name: String!, $dob: Date, $postcode: String, $first: Int!) {
  searchPeople(name: $name, dateOfBirth: $dob, postcode: $postcode, first: $first) {
    edges { node { score nameScore dateOfBirth postcode
      person { id displayName datesOfBirth agencies { agency } } } }
  }
}`;

const EVENT = "id type category date agency system roles isConcern concernCategory";

// Investigators and data stewards: the whole profile.
export const PROFILE_CASEWORK = `
query Profile($id: ID!) {
  person(id: $id) {
    id displayName datesOfBirth
    identifiers { scheme value valid recordKeys }
    agencies { agency systems recordCount }
    flags { id code title reason asOf confidence
      evidence { recordKeys
        events { ${EVENT} summary }
        path { kind relationship livesWith fromDate toDate sources
          from { id displayName } to { id displayName } events { id type date agency } } } }
    sourceRecords(first: 100) { totalCount edges { node {
      key system agency kind localId forename middleNames surname aliases dateOfBirth sex
      postcode address resolution { status probability method } } } }
    household { type livesWith fromDate person { id displayName datesOfBirth } }
    relationships(first: 100) { totalCount edges { node {
      type livesWith fromDate toDate person { id displayName } } } }
    concerns(includeHousehold: true, first: 100) { totalCount edges { node {
      relationship subject { id displayName } event { ${EVENT} summary } } } }
    timeline(first: 100) { totalCount edges { node { ${EVENT} summary } } }
  }
}`;

// Possible matches come in a second request, so the rest of the profile shows at once
// (at 100k persons the API takes ~2 s for them: bench/RESULTS.md, "Web app load").
export const POSSIBLE_MATCHES = `
query PossibleMatches($id: ID!) {
  person(id: $id) {
    id
    possibleMatches { probability reason evidence agencies candidateIds recordKeys
      person { id displayName datesOfBirth } weights { comparison level weight } }
  }
  keptApartReasons { code description }
}`;

// Partner systems: the child's profile summary only (no other people, record keys,
// free text or events behind a flag).
export const PROFILE_PARTNER = `
query ProfileSummary($id: ID!) {
  person(id: $id) {
    id displayName datesOfBirth
    identifiers { scheme value valid }
    agencies { agency systems recordCount }
    flags { id code title reason asOf confidence
      evidence { path { kind relationship livesWith fromDate toDate } } }
    timeline(first: 100) { totalCount edges { node { ${EVENT} } } }
  }
}`;

export const NETWORK = `
query Network($id: ID!, $depth: Int!, $first: Int!) {
  network(personId: $id, depth: $depth, first: $first, includeEvents: true) {
    truncated
    root { id displayName }
    nodes { id kind hops label
      event { id type date agency isConcern concernCategory }
      person { id displayName agencies { agency } flags { code confidence } } }
    edges { source target kind relationship livesWith fromDate toDate }
  }
}`;

export const CONNECTIONS = `
query Connections($from: ID!, $to: ID!, $maxDepth: Int!) {
  connections(fromId: $from, toId: $to, maxDepth: $maxDepth, first: 5) {
    length truncated
    from { id displayName } to { id displayName }
    paths { length hops { kind relationship livesWith fromDate toDate sources
      from { id displayName } to { id displayName } events { id type date agency } } }
  }
}`;

const RECORD = `key system agency kind localId forename middleNames surname aliases
  dateOfBirth sex postcode address identifiers { scheme value valid }`;
const CANDIDATE = "id displayName agencies isChild policeHistory householdSize concernCount";

// Why linkage keeps a pair apart: the codes the queue's reason filter takes.
export const KEPT_APART_REASONS = `query KeptApartReasons { keptApartReasons { code description } }`;

export const REVIEW_QUEUE = `
query ReviewQueue($first: Int!, $after: String, $orderBy: ReviewOrder!, $includeDeferred: Boolean!,
    $system: String, $reason: String, $minP: Float!, $maxP: Float!, $flagged: Boolean,
    $withinSystem: Boolean) {
  reviewQueue(first: $first, after: $after, orderBy: $orderBy, includeDeferred: $includeDeferred,
      system: $system, reason: $reason, minProbability: $minP, maxProbability: $maxP,
      flaggedChild: $flagged, withinSystem: $withinSystem) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id version status probability weight reason stale flaggedChild withinSystem
      recordA { ${RECORD} } recordB { ${RECORD} }
      personA { ${CANDIDATE} } personB { ${CANDIDATE} }
      weights { prior final probability steps { label level contribution cumulative } }
      impact { summary reasons agenciesAdded recordsMoved relationshipsGained concernsGained
        survivingPersonId retiredPersonId } } }
  }
}`;

const RESULT = "decisionId kind decision at user retired revived auditSeq after { personId recordKeys }";

export const DECIDE = `
mutation Decide($id: ID!, $decision: MatchDecision!, $reason: String!, $version: Int) {
  decideMatch(candidateId: $id, decision: $decision, reason: $reason, expectedVersion: $version) { ${RESULT} }
}`;

export const MERGE = `
mutation Merge($ids: [ID!]!, $reason: String!) { mergePersons(ids: $ids, reason: $reason) { ${RESULT} } }`;

export const SPLIT = `
mutation Split($id: ID!, $keys: [String!]!, $reason: String!) {
  splitPerson(personId: $id, recordKeys: $keys, reason: $reason) { ${RESULT} }
}`;

export const AUDIT_LOG = `
query AuditLog($first: Int!, $after: String, $user: String, $person: ID) {
  auditLog(first: $first, after: $after, user: $user, personId: $person) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { seq at user role action persons records fields purpose prevHash hash } }
  }
}`;
