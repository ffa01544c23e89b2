"""The data steward API: `reviewQueue` and the decision mutations.

`StewardQuery` is merged into the root `Query`; `StewardMutation` is the root
`Mutation`. Resolvers delegate to `cpgraph.steward` (queue building, decisions);
field permissions live in `cpgraph.steward.policy`.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from cpgraph.graphql.context import GqlInfo, RequestContext
from cpgraph.graphql.data import RecordData
from cpgraph.graphql.disclosure import person_ids_field, record_keys_field
from cpgraph.graphql.errors import BadInputError
from cpgraph.graphql.pagination import (
    Connection,
    Edge,
    PageInfo,
    check_first,
    decode_cursor,
    encode_cursor,
)
from cpgraph.graphql.types import SourceRecord
from cpgraph.linkage.reasons import KEPT_APART_REASONS
from cpgraph.security.errors import AuthenticationError
from cpgraph.steward.decisions import Actor, DecisionOutcome
from cpgraph.steward.queue import (
    PersonSummary,
    QueueFilter,
    QueueItem,
    QueueOrder,
    Reason,
    queue_count,
    queue_page,
)
from cpgraph.steward.service import StewardService

MAX_QUEUE_PAGE = 100

ReviewOrder = strawberry.enum(
    QueueOrder,
    name="ReviewOrder",
    description="CONSEQUENCE: most consequential first (a child joining a household, an "
    "adult with police or prison history joining a child's network, concerns moving).",
)
ReviewReason = strawberry.enum(Reason, name="ReviewReason", description="Why a match matters.")


@strawberry.enum(description="A steward's verdict on a candidate pair.")
class MatchDecision(Enum):
    LINK = "LINK"
    NO_LINK = "NO_LINK"
    DEFER = "DEFER"


@strawberry.type(description="One bar of a weight waterfall (bits).")
class WeightStep:
    label: str = strawberry.field(description="prior, a comparison name, or adjustment.")
    level: str = strawberry.field(description="The comparison level the pair reached.")
    contribution: float
    cumulative: float


@strawberry.type(description="The match weight, from the prior to the final weight.")
class MatchWeights:
    prior: float
    final: float
    probability: float
    steps: list[WeightStep]


@strawberry.type(description="A person a candidate record resolves to now.")
class CandidatePerson:
    id: strawberry.ID = person_ids_field()
    display_name: str | None
    record_keys: list[str] = record_keys_field()
    agencies: list[str]
    is_child: bool
    police_history: bool = strawberry.field(
        description="Has police or prison records, or police events."
    )
    household_size: int
    concern_count: int

    @classmethod
    def of(cls, p: PersonSummary) -> CandidatePerson:
        """Build from a queue summary."""
        return cls(
            id=strawberry.ID(p.person_id),
            display_name=p.display_name,
            record_keys=p.record_keys,
            agencies=p.agencies,
            is_child=p.is_child,
            police_history=p.police_history,
            household_size=len(p.household),
            concern_count=len(p.concerns),
        )


@strawberry.type(description="What accepting the match would change.")
class ReviewImpact:
    surviving_person_id: str | None = person_ids_field()
    retired_person_id: str | None = person_ids_field()
    records_moved: int
    agencies_added: list[str]
    relationships_gained: int
    concerns_gained: int
    reasons: list[ReviewReason]
    summary: str


@strawberry.type(description="An uncertain match, both records side by side.")
class ReviewItem:
    id: strawberry.ID
    version: int = strawberry.field(description="Pass as expectedVersion to decideMatch.")
    status: str
    probability: float
    weight: float
    consequence: float = strawberry.field(description="Rank score of the default order.")
    record_a: SourceRecord
    record_b: SourceRecord
    person_a: CandidatePerson | None = strawberry.field(
        description="The person record A resolves to now (record B would join it)."
    )
    person_b: CandidatePerson | None = strawberry.field(
        description="The person record B resolves to now (record A would join it)."
    )
    weights: MatchWeights
    impact: ReviewImpact
    reason: str = strawberry.field(
        description="Why linkage kept the pair apart (e.g. different_addresses, "
        "ambiguous_name_only, or a reviewable guard such as index_namesakes_at_home), or "
        "'uncertain' for a pair between the thresholds."
    )
    stale: bool = strawberry.field(
        description="A record changed (a newer extract) since the pair was scored; the "
        "next `cpgraph link` scores it again."
    )
    flagged_child: bool = strawberry.field(
        description="One of the two persons has a safeguarding flag."
    )
    within_system: str | None = strawberry.field(
        description="The source system, when both records are of that system's own index "
        "(two nominals of one force, two patients of one trust): a suspected duplicate "
        "inside the system, to report back to its agency (`cpgraph export duplicates`)."
    )

    @classmethod
    def of(cls, ctx: RequestContext, item: QueueItem) -> ReviewItem:
        """Build from a queue item, noting every disclosure for the audit entry."""
        for p in (item.person_a, item.person_b):
            if p is not None:
                ctx.saw_person(p.person_id)
        imp = item.impact
        return cls(
            id=strawberry.ID(item.candidate_id),
            version=item.version,
            status=item.status,
            probability=item.probability,
            weight=item.weight,
            consequence=item.consequence,
            record_a=SourceRecord.of(
                ctx, RecordData(props=item.record_a, person_id=_pid(item.person_a))
            ),
            record_b=SourceRecord.of(
                ctx, RecordData(props=item.record_b, person_id=_pid(item.person_b))
            ),
            person_a=CandidatePerson.of(item.person_a) if item.person_a else None,
            person_b=CandidatePerson.of(item.person_b) if item.person_b else None,
            weights=MatchWeights(
                prior=item.prior,
                final=item.weight,
                probability=item.probability,
                steps=[
                    WeightStep(
                        label=s.label,
                        level=s.level,
                        contribution=s.contribution,
                        cumulative=s.cumulative,
                    )
                    for s in item.steps
                ],
            ),
            impact=ReviewImpact(
                surviving_person_id=imp.surviving_person_id,
                retired_person_id=imp.retired_person_id,
                records_moved=imp.records_moved,
                agencies_added=imp.agencies_added,
                relationships_gained=imp.relationships_gained,
                concerns_gained=imp.concerns_gained,
                reasons=list(imp.reasons),
                summary=imp.summary,
            ),
            reason=item.reason,
            stale=item.stale,
            flagged_child=item.flagged,
            within_system=item.within_system,
        )


def _pid(p: PersonSummary | None) -> str | None:
    return p.person_id if p else None


@strawberry.type(description="A person's records before or after a decision.")
class PersonRecords:
    person_id: str
    record_keys: list[str]


def _person_records(snapshot: dict[str, list[str]]) -> list[PersonRecords]:
    return [PersonRecords(person_id=p, record_keys=list(k)) for p, k in sorted(snapshot.items())]


@strawberry.type(description="A recorded, audited steward decision and what it changed.")
class DecisionResult:
    decision_id: strawberry.ID
    kind: str = strawberry.field(description="match, merge, split or unlink.")
    decision: str
    at: str
    user: str
    before: list[PersonRecords]
    after: list[PersonRecords]
    retired: list[str] = strawberry.field(description="Ids retired into the survivor.")
    revived: list[str] = strawberry.field(description="Retired ids brought back by a split.")
    supersedes: list[str] = strawberry.field(description="Earlier decisions this reverses.")
    audit_seq: int | None
    candidate_version: int | None

    @classmethod
    def of(cls, out: DecisionOutcome) -> DecisionResult:
        """Build from a service outcome."""
        return cls(
            decision_id=strawberry.ID(out.decision_id),
            kind=out.kind,
            decision=out.decision,
            at=out.at,
            user=out.user,
            before=_person_records(out.before),
            after=_person_records(out.after),
            retired=out.retired,
            revived=out.revived,
            supersedes=out.supersedes,
            audit_seq=out.audit_seq,
            candidate_version=out.candidate_version,
        )


def _actor(ctx: RequestContext) -> Actor:
    if ctx.principal is None:  # the gate refuses anonymous operations first
        raise AuthenticationError("a bearer token is required")
    return Actor(ctx.principal.name, ctx.principal.role)


def _purpose(ctx: RequestContext) -> str | None:
    # the access gate has parsed X-Purpose for every mutation (or refused it)
    return str(ctx.purpose) if ctx.purpose else None


_OVERRIDE_HELP = (
    "Join them even though the persons hold different valid identifiers of one kind "
    "(NHS number, UPN, PNC id, prison number); without it such a join fails with "
    "CONFLICT naming the kind. The override and the reason are recorded in the decision "
    "and the audit entry."
)


def _service(ctx: RequestContext) -> StewardService:
    return StewardService(ctx.store, ctx.audit)


def _selects(info: GqlInfo, name: str) -> bool:
    return any(
        getattr(sel, "name", None) == name
        for field in info.selected_fields
        for sel in getattr(field, "selections", [])
    )


@strawberry.type(
    description="Why linkage kept a pair apart: a review item's or a possible match's "
    "`reason`, and what it means."
)
class KeptApartReason:
    code: str = strawberry.field(description="The code a review item's `reason` carries.")
    description: str = strawberry.field(description="What it means, for a steward.")


@strawberry.type
class StewardQuery:
    @strawberry.field(
        description="Every reason linkage keeps a pair apart (the review queue's `reason` "
        "filter accepts these codes only), with what each means. Reads no person data."
    )
    def kept_apart_reasons(self) -> list[KeptApartReason]:
        return [
            KeptApartReason(code=code, description=text)
            for code, text in KEPT_APART_REASONS.items()
        ]

    @strawberry.field(
        description="Uncertain matches awaiting a steward (data stewards only), most "
        "consequential first by default. The queue is stored by `cpgraph link`; pages "
        "follow its stored order (cursor = position), with filters: source system of "
        "either record, the reason the pair was kept apart, a probability band, "
        "whether a person involved has a safeguarding flag, and `withinSystem` (true: only "
        "suspected duplicates inside one system's own index)."
    )
    async def review_queue(
        self,
        info: GqlInfo,
        first: int = 20,
        after: str | None = None,
        order_by: ReviewOrder = QueueOrder.CONSEQUENCE,  # type: ignore[valid-type]
        include_deferred: bool = False,
        system: str | None = None,
        reason: str | None = None,
        min_probability: float = 0.0,
        max_probability: float = 1.0,
        flagged_child: bool | None = None,
        within_system: bool | None = None,
    ) -> Connection[ReviewItem]:
        ctx = info.context
        order = QueueOrder(order_by.value if isinstance(order_by, Enum) else order_by)
        check_first(first, min(MAX_QUEUE_PAGE, ctx.limits.max_page_size))
        if not 0.0 <= min_probability <= max_probability <= 1.0:
            raise BadInputError("need 0 <= minProbability <= maxProbability <= 1")
        if system is not None and not 0 < len(system) <= 64:
            raise BadInputError("system must be 1-64 characters")
        if reason is not None and reason not in KEPT_APART_REASONS:
            # an unknown code would silently match nothing: say so (never echoing it)
            raise BadInputError("reason is not a known code: keptApartReasons lists them")
        kind = f"rq-{order.value}"
        after_key = decode_cursor(kind, after) if after else ""
        if after_key and not after_key.isdigit():
            raise BadInputError("invalid cursor for this list")
        filters = QueueFilter(
            statuses=("open", "deferred") if include_deferred else ("open",),
            system=system,
            reason=reason,
            min_probability=min_probability,
            max_probability=max_probability,
            flagged=flagged_child,
            within_system=within_system,
        )
        page = await queue_page(
            ctx.store,
            first=first,
            after=after_key,
            order=order,
            filters=filters,
            run_cpu=ctx.run_cpu,
        )
        # counting scans the filtered queue: only when the client asks for it
        total = await queue_count(ctx.store, filters) if _selects(info, "totalCount") else None
        edges = [
            Edge(cursor=encode_cursor(kind, it.sort_key), node=ReviewItem.of(ctx, it))
            for it in page.items
        ]
        return Connection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=total,
        )


@strawberry.type(name="Mutation")
class StewardMutation:
    @strawberry.mutation(
        description="Decide a candidate. LINK merges the two persons now (lowest id "
        "survives); NO_LINK keeps them apart for good (splitting them if one); DEFER "
        "puts it aside. Fails with CONFLICT if someone decided it first; pass "
        "expectedVersion (the item's version) to reverse an earlier decision. Data "
        "stewards only; needs X-Purpose."
    )
    async def decide_match(
        self,
        info: GqlInfo,
        candidate_id: strawberry.ID,
        decision: MatchDecision,
        reason: str,
        expected_version: int | None = None,
        override_identifier_conflict: Annotated[
            bool, strawberry.argument(description=_OVERRIDE_HELP)
        ] = False,
    ) -> DecisionResult:
        ctx = info.context
        out = await _service(ctx).decide_match(
            _actor(ctx),
            str(candidate_id),
            decision.value,
            reason,
            expected_version=expected_version,
            purpose=_purpose(ctx),
            override_identifier_conflict=override_identifier_conflict,
        )
        return DecisionResult.of(out)

    @strawberry.mutation(
        description="Merge persons into the one with the lowest id; the others retire "
        "into it (their ids keep answering). Data stewards only; needs X-Purpose."
    )
    async def merge_persons(
        self,
        info: GqlInfo,
        ids: list[strawberry.ID],
        reason: str,
        override_identifier_conflict: Annotated[
            bool, strawberry.argument(description=_OVERRIDE_HELP)
        ] = False,
    ) -> DecisionResult:
        ctx = info.context
        out = await _service(ctx).merge_persons(
            _actor(ctx),
            [str(i) for i in ids],
            reason,
            purpose=_purpose(ctx),
            override_identifier_conflict=override_identifier_conflict,
        )
        return DecisionResult.of(out)

    @strawberry.mutation(
        description="Split records off a person; the larger part keeps the id, the other "
        "gets back the id it had before a merge, or a new one."
    )
    async def split_person(
        self, info: GqlInfo, person_id: strawberry.ID, record_keys: list[str], reason: str
    ) -> DecisionResult:
        ctx = info.context
        out = await _service(ctx).split_person(
            _actor(ctx), str(person_id), record_keys, reason, purpose=_purpose(ctx)
        )
        return DecisionResult.of(out)

    @strawberry.mutation(description="Take one record out of its person (a person of its own).")
    async def unlink_record(self, info: GqlInfo, record_key: str, reason: str) -> DecisionResult:
        ctx = info.context
        out = await _service(ctx).unlink_record(
            _actor(ctx), record_key, reason, purpose=_purpose(ctx)
        )
        return DecisionResult.of(out)
