"""GraphQL object types and their resolvers.

Resolvers read through the request's DataLoaders (`info.context.loaders`), so
a request costs a fixed number of store round trips whatever the number of
persons in its answer. Every Person that appears in an answer is noted in the
request's access record for the audit entry.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from enum import Enum
from typing import Annotated, Any

import strawberry

from cpgraph.graphql.context import GqlInfo, RequestContext
from cpgraph.graphql.data import (
    ADULT_AGE,
    IDENTIFIER_SCHEMES,
    EventData,
    FlagData,
    PersonData,
    PossibleMatchData,
    RecordData,
    RelationshipData,
    age_on,
    household_on,
    parse_date,
)
from cpgraph.graphql.disclosure import person_ids_field, record_keys_field
from cpgraph.graphql.errors import NotFoundError
from cpgraph.graphql.pagination import Connection, paginate, to_connection
from cpgraph.graphql.search import Agreement, Candidate
from cpgraph.security.audit import AuditRecord

AgreementLevel = strawberry.enum(
    Agreement, name="Agreement", description="How a recorded value agrees with a searched one."
)


@strawberry.enum(description="Kinds of person identifier.")
class IdentifierScheme(Enum):
    NHS_NUMBER = "NHS_NUMBER"
    UPN = "UPN"
    PNC_ID = "PNC_ID"
    PRISON_NUMBER = "PRISON_NUMBER"


@strawberry.enum(description="What a network node stands for.")
class NetworkNodeKind(Enum):
    PERSON = "PERSON"
    EVENT = "EVENT"
    ADDRESS = "ADDRESS"
    ORGANISATION = "ORGANISATION"


@strawberry.enum(description="What a network edge stands for.")
class NetworkEdgeKind(Enum):
    RELATED_TO = "RELATED_TO"
    INVOLVED_IN = "INVOLVED_IN"
    AT_ADDRESS = "AT_ADDRESS"
    KNOWN_TO = "KNOWN_TO"


def _str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


async def _person_data(ctx: RequestContext, person_id: str) -> PersonData:
    data = await ctx.loaders.person.load(person_id)
    if data is None:
        raise NotFoundError("no person with that id")
    return data


def person_ref(ctx: RequestContext, person_id: str) -> Person:
    """A Person for the answer; notes the disclosure for the audit entry."""
    ctx.saw_person(person_id)
    return Person(id=strawberry.ID(person_id))


@strawberry.type(description="The authenticated caller.")
class Viewer:
    name: str
    role: str


@strawberry.type(description="A person identifier as recorded, with its check-digit validity.")
class Identifier:
    scheme: IdentifierScheme
    value: str
    valid: bool | None = strawberry.field(
        description="Check digit/format valid (null when the source did not say)."
    )
    record_keys: list[str] = record_keys_field()


def identifiers_of(records: list[RecordData]) -> list[Identifier]:
    """Distinct identifiers across records, with the records that carry each."""
    found: dict[tuple[str, str], Identifier] = {}
    for record in records:
        for scheme, prop, valid_prop in IDENTIFIER_SCHEMES:
            value = _str(record.props.get(prop))
            if value is None:
                continue
            ident = found.get((scheme, value))
            if ident is None:
                ident = found[(scheme, value)] = Identifier(
                    scheme=IdentifierScheme(scheme),
                    value=value,
                    valid=record.props.get(valid_prop),
                    record_keys=[],
                )
            elif ident.valid is None:
                ident.valid = record.props.get(valid_prop)
            ident.record_keys.append(record.key)
    return sorted(found.values(), key=lambda i: (i.scheme.value, i.value))


@strawberry.type(description="An agency that knows the person, and through which systems.")
class AgencyPresence:
    agency: str
    systems: list[str]
    record_count: int


@strawberry.type(description="How a source record resolves to its person.")
class Resolution:
    probability: float | None
    method: str | None
    status: str | None = strawberry.field(description="auto, reviewed or singleton.")


@strawberry.type(description="One person mention, as the source system recorded it.")
class SourceRecord:
    key: str
    system: str | None
    agency: str | None
    kind: str | None
    local_id: str | None
    forename: str | None
    middle_names: str | None
    surname: str | None
    aliases: list[str]
    date_of_birth: str | None
    sex: str | None
    postcode: str | None
    address: str | None
    identifiers: list[Identifier]
    resolution: Resolution | None
    person_id: strawberry.Private[str | None]

    @strawberry.field(description="The person this record resolves to.")
    def person(self, info: GqlInfo) -> Person | None:
        return person_ref(info.context, self.person_id) if self.person_id else None

    @classmethod
    def of(cls, ctx: RequestContext, record: RecordData) -> SourceRecord:
        """Build from loaded data, noting the disclosure."""
        ctx.saw_record(record.key)
        p = record.props
        resolution = (
            Resolution(probability=record.probability, method=record.method, status=record.status)
            if record.person_id
            else None
        )
        return cls(
            key=record.key,
            system=_str(p.get("system")),
            agency=_str(p.get("agency")),
            kind=_str(p.get("kind")),
            local_id=_str(p.get("local_id")),
            forename=_str(p.get("forename")),
            middle_names=_str(p.get("middle_names")),
            surname=_str(p.get("surname")),
            aliases=[str(a) for a in p.get("aliases") or []],
            date_of_birth=_str(p.get("dob")),
            sex=_str(p.get("sex")),
            postcode=_str(p.get("postcode")),
            address=_str(p.get("address")),
            identifiers=identifiers_of([record]),
            resolution=resolution,
            person_id=record.person_id,
        )


@strawberry.type(description="A relationship seen from the person it was asked about.")
class Relationship:
    type: str = strawberry.field(description="What the other person is to this one (mother...).")
    stated_type: str = strawberry.field(description="The relationship as stored on the edge.")
    from_date: str | None
    to_date: str | None
    lives_with: bool | None
    sources: list[str] = record_keys_field(description="Keys of the records that said so.")
    other_id: strawberry.Private[str]

    @strawberry.field(description="The other person.")
    def person(self, info: GqlInfo) -> Person:
        return person_ref(info.context, self.other_id)

    @classmethod
    def of(cls, rel: RelationshipData) -> Relationship:
        """Build from loaded data."""
        return cls(
            type=rel.type,
            stated_type=rel.stated_type,
            from_date=_str(rel.from_date),
            to_date=_str(rel.to_date),
            lives_with=rel.lives_with,
            sources=rel.sources,
            other_id=rel.other_id,
        )


@strawberry.type(description="An event in a person's timeline, from one agency's records.")
class TimelineEvent:
    id: strawberry.ID
    type: str | None
    category: str | None
    date: str | None
    agency: str | None
    system: str | None
    roles: list[str] = strawberry.field(description="The person's role(s) in the event.")
    summary: str | None = strawberry.field(description="Free text; not for partner systems.")
    is_concern: bool
    concern_category: str | None
    record_keys: list[str] = record_keys_field()

    @classmethod
    def of(cls, event: EventData) -> TimelineEvent:
        """Build from loaded data."""
        p = event.props
        return cls(
            id=strawberry.ID(event.event_id),
            type=_str(p.get("type")),
            category=_str(p.get("category")),
            date=_str(p.get("date")),
            agency=_str(p.get("agency")),
            system=_str(p.get("system")),
            roles=list(event.roles),
            summary=_str(p.get("summary")),
            is_concern=bool(p.get("is_concern")),
            concern_category=_str(p.get("concern_category")),
            record_keys=list(event.record_keys),
        )


@strawberry.type(description="A prior concern about the person or an adult in their household.")
class Concern:
    event: TimelineEvent
    relationship: str | None = strawberry.field(
        description="The subject's relationship to the person (null: the person themself)."
    )
    subject_id: strawberry.Private[str]

    @strawberry.field(description="Who the concern is about.")
    def subject(self, info: GqlInfo) -> Person:
        return person_ref(info.context, self.subject_id)


def _related(ctx: RequestContext, rel: RelationshipData) -> Relationship:
    """A relationship for the answer: it tells of the other person (and its cursor names
    them) even when `person` is not selected, so the audit entry names them."""
    ctx.saw_person(rel.other_id)
    return Relationship.of(rel)


def _concern(
    ctx: RequestContext, subject_id: str, relationship: str | None, event: EventData
) -> Concern:
    """A concern for the answer: it is about its subject (a household adult's concern
    discloses that adult) whether or not `subject` is selected."""
    ctx.saw_person(subject_id)
    return Concern(event=TimelineEvent.of(event), relationship=relationship, subject_id=subject_id)


def _day(value: date | None) -> date:
    return value or date.today()


@strawberry.type(description="One comparison's contribution to a match weight (bits).")
class WeightItem:
    comparison: str = strawberry.field(
        description="A comparison of the run's spec, prior, or kept_apart (zero weight: why "
        "clustering kept a strong pair apart)."
    )
    level: str
    weight: float


@strawberry.type(
    description="Another person that linkage kept apart from this one but could not rule "
    "out: undecided until a data steward decides (then it leaves, or the two become one)."
)
class PossibleMatch:
    probability: float = strawberry.field(description="The model's match probability.")
    reason: str = strawberry.field(
        description="Why linkage kept them apart: uncertain (the score is between the review "
        "and auto thresholds), different_addresses (the place gate: no evidence of a move; or "
        "two houses of one postcode, the addresses sharing no word or number), "
        "ambiguous_name_only (a name-only mention fitting two persons), or the name of a "
        "reviewable guard (e.g. index_namesakes_at_home: one name twice at one address in "
        "one force's nominals, one undated)."
    )
    evidence: list[str] = strawberry.field(
        description="Support beyond a shared name and birth date: alias, identifier, "
        "address, relative. Empty for a common name alone."
    )
    agencies: list[str] = strawberry.field(description="Agencies of the records behind it.")
    weights: list[WeightItem] = strawberry.field(
        description="Weight breakdown of the strongest pair of records behind it."
    )
    candidate_ids: list[strawberry.ID] = strawberry.field(
        description="The review items a steward decides (decideMatch)."
    )
    record_keys: list[str] = strawberry.field(description="Records of both persons behind it.")
    other_id: strawberry.Private[str]

    @strawberry.field(description="The other person.")
    def person(self, info: GqlInfo) -> Person:
        return person_ref(info.context, self.other_id)

    @classmethod
    def of(cls, data: PossibleMatchData) -> PossibleMatch:
        weights = [
            WeightItem(
                comparison=str(name),
                level=str((item or {}).get("level", "")),
                weight=float((item or {}).get("weight") or 0.0),
            )
            for name, item in data.breakdown.items()
            if isinstance(item, dict)
        ]
        return cls(
            probability=data.probability,
            reason=data.reason,
            evidence=list(data.evidence),
            agencies=list(data.agencies),
            weights=weights,
            candidate_ids=[strawberry.ID(c) for c in data.candidate_ids],
            record_keys=list(data.record_keys),
            other_id=data.other_id,
        )


@strawberry.type(description="A resolved person: one human across agencies' records.")
class Person:
    id: strawberry.ID

    @strawberry.field
    async def display_name(self, info: GqlInfo) -> str | None:
        return (await _person_data(info.context, self.id)).display_name

    @strawberry.field(description="Every date of birth the sources recorded, sorted.")
    async def dates_of_birth(self, info: GqlInfo) -> list[str]:
        return (await _person_data(info.context, self.id)).dates_of_birth()

    @strawberry.field(description="Identifiers across the person's records, with validity.")
    async def identifiers(self, info: GqlInfo) -> list[Identifier]:
        return identifiers_of((await _person_data(info.context, self.id)).records)

    @strawberry.field(description="Agencies whose records resolve to this person.")
    async def agencies(self, info: GqlInfo) -> list[AgencyPresence]:
        data = await _person_data(info.context, self.id)
        systems: dict[str, set[str]] = defaultdict(set)
        counts: dict[str, int] = defaultdict(int)
        for record in data.records:
            agency = _str(record.props.get("agency")) or "unknown"
            counts[agency] += 1
            if record.props.get("system"):
                systems[agency].add(str(record.props["system"]))
        return [
            AgencyPresence(agency=a, systems=sorted(systems[a]), record_count=counts[a])
            for a in sorted(counts)
        ]

    @strawberry.field(description="The source records that resolve to this person.")
    async def source_records(
        self, info: GqlInfo, first: int = 50, after: str | None = None
    ) -> Connection[SourceRecord]:
        ctx = info.context
        data = await _person_data(ctx, self.id)
        page = paginate(
            data.records,
            kind="rec",
            key=lambda r: r.key,
            first=first,
            after=after,
            cap=ctx.limits.max_page_size,
        )
        return to_connection(page, lambda r: SourceRecord.of(ctx, r))

    @strawberry.field(description="Relationships, optionally only those holding on `asOf`.")
    async def relationships(
        self,
        info: GqlInfo,
        as_of: date | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Relationship]:
        ctx = info.context
        rels = [r for r in await ctx.loaders.relationships.load(self.id) if r.valid_on(as_of)]
        page = paginate(
            rels,
            kind="rel",
            key=lambda r: f"{r.type}|{r.from_date or ''}|{r.other_id}",
            first=first,
            after=after,
            cap=ctx.limits.max_page_size,
        )
        return to_connection(page, lambda r: _related(ctx, r))

    @strawberry.field(description="People living with the person on `asOf` (default today).")
    async def household(self, info: GqlInfo, as_of: date | None = None) -> list[Relationship]:
        ctx = info.context
        rels = await ctx.loaders.relationships.load(self.id)
        return [_related(ctx, r) for r in household_on(rels, _day(as_of))]

    @strawberry.field(description="Events the person's records are involved in, oldest first.")
    async def timeline(
        self,
        info: GqlInfo,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
        types: list[str] | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[TimelineEvent]:
        ctx = info.context
        wanted = set(types or [])
        events = []
        for event in await ctx.loaders.events.load(self.id):
            day = parse_date(event.date)
            if from_ and (day is None or day < from_):
                continue
            if to and (day is None or day > to):
                continue
            if wanted and not wanted & {event.props.get("type"), event.props.get("category")}:
                continue
            events.append(event)
        page = paginate(
            events,
            kind="ev",
            key=lambda e: e.sort_key,
            first=first,
            after=after,
            cap=ctx.limits.max_page_size,
        )
        return to_connection(page, TimelineEvent.of)

    @strawberry.field(
        description="Safeguarding flags: explainable rules that fired for the person, each "
        "with a reason and its evidence (computed after linkage)."
    )
    async def flags(self, info: GqlInfo) -> list[Flag]:
        return await person_flags(info.context, str(self.id))

    @strawberry.field(
        description="Persons linkage kept apart from this one but could not rule out (same "
        "name and birth date at another address, an ambiguous name-only mention, a score "
        "between the thresholds), strongest first. Nothing undecided is hidden: each stays "
        "here, marked possible, until a data steward decides."
    )
    async def possible_matches(self, info: GqlInfo) -> list[PossibleMatch]:
        ctx = info.context
        matches = await ctx.loaders.possible_matches.load(self.id)
        for m in matches:
            ctx.saw_person(m.other_id)  # the records behind the doubt name the other person
            for key in m.record_keys:
                ctx.saw_record(key)  # the audit entry names the records behind the doubt
        return [PossibleMatch.of(m) for m in matches]

    @strawberry.field(
        description="Prior concerns about the person and, with includeHousehold, about the "
        "adults living with them on `asOf` (default today). Oldest first."
    )
    async def concerns(
        self,
        info: GqlInfo,
        include_household: bool = False,
        as_of: date | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Concern]:
        ctx = info.context
        subjects: dict[str, str | None] = {str(self.id): None}
        if include_household:
            day = _day(as_of)
            members = household_on(await ctx.loaders.relationships.load(self.id), day)
            profiles = await ctx.loaders.person.load_many([m.other_id for m in members])
            for member, profile in zip(members, profiles, strict=True):
                age = age_on(profile.best_dob() if profile else None, day)
                if age is None or age >= ADULT_AGE:
                    subjects[member.other_id] = member.type
        ids = list(subjects)
        items: list[tuple[str, EventData]] = []
        for pid, events in zip(ids, await ctx.loaders.events.load_many(ids), strict=True):
            items.extend((pid, e) for e in events if e.props.get("is_concern"))
        items.sort(key=lambda it: f"{it[1].sort_key}|{it[0]}")
        page = paginate(
            items,
            kind="con",
            key=lambda it: f"{it[1].sort_key}|{it[0]}",
            first=first,
            after=after,
            cap=ctx.limits.max_page_size,
        )
        return to_connection(page, lambda it: _concern(ctx, it[0], subjects[it[0]], it[1]))


@strawberry.type(description="A person found by searchPeople, with why they scored as they did.")
class SearchCandidate:
    score: float = strawberry.field(description="0..1, higher is a better match.")
    name_score: float
    date_of_birth: AgreementLevel
    postcode: AgreementLevel
    record_keys: list[str] = strawberry.field(description="The matching records.")
    person_id: strawberry.Private[str]

    @strawberry.field
    def person(self, info: GqlInfo) -> Person:
        return person_ref(info.context, self.person_id)

    @classmethod
    def of(cls, ctx: RequestContext, cand: Candidate) -> SearchCandidate:
        """Build from a ranked candidate, noting the disclosure."""
        ctx.saw_person(cand.person_id)
        for key in cand.record_keys:
            ctx.saw_record(key)
        return cls(
            score=cand.score,
            name_score=round(cand.name_score, 4),
            date_of_birth=cand.dob,
            postcode=cand.postcode,
            record_keys=cand.record_keys,
            person_id=cand.person_id,
        )


@strawberry.type(description="A node to draw in a network.")
class NetworkNode:
    id: strawberry.ID = person_ids_field(node_ids=True)
    kind: NetworkNodeKind
    hops: int = strawberry.field(description="Distance from the root person.")
    event: TimelineEvent | None = None
    person_id: strawberry.Private[str | None] = None

    @strawberry.field(description="The person, for PERSON nodes.")
    def person(self, info: GqlInfo) -> Person | None:
        return person_ref(info.context, self.person_id) if self.person_id else None

    @strawberry.field(description="A short label for drawing.")
    async def label(self, info: GqlInfo) -> str | None:
        if self.person_id:
            data = await info.context.loaders.person.load(self.person_id)
            return data.display_name if data else None
        if self.event:
            return " ".join(x for x in (self.event.type, self.event.date) if x) or None
        return None


@strawberry.type(description="An edge to draw in a network.")
class NetworkEdge:
    source: strawberry.ID = person_ids_field(node_ids=True)
    target: strawberry.ID = person_ids_field(node_ids=True)
    kind: NetworkEdgeKind
    relationship: str | None = None
    lives_with: bool | None = None
    from_date: str | None = None
    to_date: str | None = None
    sources: list[str] = record_keys_field(default_factory=list)


@strawberry.type(description="A bounded network around a person, ready to draw.")
class Network:
    nodes: list[NetworkNode]
    edges: list[NetworkEdge]
    truncated: bool = strawberry.field(description="True when limits cut the network short.")
    root_id: strawberry.Private[str]

    @strawberry.field
    def root(self, info: GqlInfo) -> Person:
        return person_ref(info.context, self.root_id)


@strawberry.type(description="One entry of the tamper-evident audit chain.")
class AuditEntry:
    seq: int
    at: str
    user: str
    role: str
    action: str
    persons: list[str]
    records: list[str]
    fields: list[str]
    purpose: str | None
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, entry: AuditRecord) -> AuditEntry:
        """Build from a stored entry."""
        return cls(
            seq=entry.seq,
            at=entry.at,
            user=entry.user,
            role=entry.role,
            action=entry.action,
            persons=list(entry.persons),
            records=list(entry.records),
            fields=list(entry.fields),
            purpose=entry.purpose,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )


# ---------------------------------------------------------------------- flags


@strawberry.enum(description="How two persons on a path are connected.")
class PathHopKind(Enum):
    RELATIONSHIP = "RELATIONSHIP"
    SHARED_EVENT = "SHARED_EVENT"
    POSSIBLE_MATCH = "POSSIBLE_MATCH"


@strawberry.enum(description="How sure a flag is of the people it rests on.")
class FlagConfidence(Enum):
    CONFIRMED = "CONFIRMED"
    POSSIBLE = "POSSIBLE"


def event_of(props: dict[str, Any], record_keys: list[str] | None = None) -> TimelineEvent:
    """A timeline event from stored event properties (and the record keys involved)."""
    return TimelineEvent.of(EventData(props=dict(props), record_keys=list(record_keys or [])))


@strawberry.type(description="One step of a path between two persons, with its evidence.")
class PathHop:
    kind: PathHopKind
    relationship: str | None = strawberry.field(
        description="What `to` is to `from` (relationships); the link for shared events."
    )
    lives_with: bool | None
    from_date: str | None
    to_date: str | None
    sources: list[str] = record_keys_field(description="Keys of the records that say so.")
    events: list[TimelineEvent] = strawberry.field(description="Events both persons share.")
    from_id: strawberry.Private[str]
    to_id: strawberry.Private[str]

    @strawberry.field(name="from", description="The person the hop starts from.")
    def from_(self, info: GqlInfo) -> Person:
        return person_ref(info.context, self.from_id)

    @strawberry.field(description="The person the hop leads to.")
    def to(self, info: GqlInfo) -> Person:
        return person_ref(info.context, self.to_id)


# ---------------------------------------------------------------------- flags


@strawberry.type(description="What a flag rests on: records, events and the path to others.")
class FlagEvidence:
    record_keys: list[str] = record_keys_field()
    event_ids: list[str]
    events: list[TimelineEvent]
    path: list[PathHop] = strawberry.field(
        description="From the flagged person to the other people involved."
    )


def _hop_from_dict(data: dict[str, Any], events: dict[str, dict[str, Any]]) -> PathHop:
    kinds = {k.value: k for k in PathHopKind}
    kind = kinds.get(str(data.get("kind")), PathHopKind.RELATIONSHIP)
    return PathHop(
        kind=kind,
        relationship=data.get("relationship"),
        lives_with=data.get("lives_with"),
        from_date=data.get("from_date"),
        to_date=data.get("to_date"),
        sources=[str(s) for s in data.get("sources") or []],
        events=[event_of(events[e]) for e in data.get("event_ids") or [] if e in events],
        from_id=str(data["from_id"]),
        to_id=str(data["to_id"]),
    )


@strawberry.type(
    description="A safeguarding flag: an explainable rule that fired for the person, "
    "with a plain-English reason and the evidence. Not a score."
)
class Flag:
    id: strawberry.ID
    code: str = strawberry.field(description="Stable rule code, e.g. RELEASE_DUE_SOON.")
    title: str
    reason: str = strawberry.field(description="Why it fired (relationships, agencies, dates).")
    as_of: str = strawberry.field(description="The reference date the rule was evaluated on.")
    computed_at: str | None
    confidence: FlagConfidence = strawberry.field(
        description="CONFIRMED: the people it rests on are resolved (linkage or a steward). "
        "POSSIBLE: it rests on a possible match awaiting a data steward's decision (the "
        "reason says so, the path has a POSSIBLE_MATCH hop)."
    )
    evidence: FlagEvidence

    @classmethod
    def of(cls, ctx: RequestContext, data: FlagData, confidence: FlagConfidence) -> Flag:
        """Build from a stored flag, noting every person its evidence discloses."""
        p, ev = data.props, data.evidence
        events = {str(e.get("event_id")): e for e in ev.get("events") or [] if isinstance(e, dict)}
        hops = [_hop_from_dict(h, events) for h in ev.get("path") or [] if isinstance(h, dict)]
        for pid in ev.get("person_ids") or []:
            ctx.saw_person(str(pid))
        return cls(
            id=strawberry.ID(str(p.get("flag_id", ""))),
            code=str(p.get("code", "")),
            title=str(p.get("title", "")),
            reason=str(p.get("reason", "")),
            as_of=str(p.get("as_of", "")),
            computed_at=p.get("computed_at"),
            confidence=confidence,
            evidence=FlagEvidence(
                record_keys=[str(k) for k in p.get("record_keys") or []],
                event_ids=[str(e) for e in p.get("event_ids") or []],
                events=[event_of(events[e]) for e in sorted(events)],
                path=hops,
            ),
        )


async def person_flags(ctx: RequestContext, person_id: str) -> list[Flag]:
    """The person's flags, by code (through the request's DataLoader)."""
    out = []
    for f in await ctx.loaders.flags.load(person_id):
        confidence = f.confidence
        if confidence is not None:  # a steward's "different" withdrew it
            out.append(Flag.of(ctx, f, FlagConfidence(confidence)))
    return out
