"""Safeguarding flags, hidden connections and match explanations for the API.

- `Person.flags`: the flags `cpgraph.flags.compute_flags` wrote, with evidence.
- `connections(fromId, toId, maxDepth)`: every shortest path between two persons,
  found by a bidirectional breadth-first search over person-level hops (a
  relationship edge, or an event both persons' records are involved in), one
  batched store round trip per kind of hop and level. Each hop carries its
  evidence: the relationship edges with their source record keys, the events
  shared.
- `explainMatch(recordKeyA, recordKeyB)`: the fitted model of the last linkage
  run applied to the two mentions as stored: per comparison level, m, u, weight
  and term-frequency adjustment, the total weight and the probability.

Why not the engines' own shortest path: FalkorDB only runs `allShortestPaths`
with endpoints bound beforehand and a minimum length of 1, and `shortestPath`
only directed; more to the point, a shared event is four graph edges
(Person<-SourceRecord->Event<-SourceRecord->Person) against one for a
relationship, so an engine shortest path counts hops wrongly. The search here
counts person-level hops exactly, on both backends, with portable queries.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import strawberry

from cpgraph.graphql.context import GqlInfo, RequestContext
from cpgraph.graphql.data import RecordData
from cpgraph.graphql.errors import BadInputError, NotFoundError
from cpgraph.graphql.types import (
    PathHop,
    PathHopKind,
    Person,
    SourceRecord,
    event_of,
    person_ref,
)
from cpgraph.vocabulary import INVERSE

MAX_CONNECTION_DEPTH = 6
MAX_PATHS = 20
# Rows per neighbour query and persons kept per search side: a hub (an event
# with very many people, a large family) cannot make a request unbounded.
NEIGHBOUR_ROWS = 20_000
MAX_VISITED = 20_000
BATCH = 500


# ---------------------------------------------------------------------- connections


@strawberry.type(description="One shortest path between two persons.")
class PersonPath:
    length: int = strawberry.field(description="Number of hops.")
    hops: list[PathHop]


@strawberry.type(description="Shortest paths between two persons, with every hop's evidence.")
class Connections:
    length: int | None = strawberry.field(description="Hops on a shortest path (null: none).")
    paths: list[PersonPath]
    truncated: bool = strawberry.field(
        description="True when limits cut the search or the list of paths short."
    )
    from_id: strawberry.Private[str]
    to_id: strawberry.Private[str]

    @strawberry.field(name="from")
    def from_(self, info: GqlInfo) -> Person:
        return person_ref(info.context, self.from_id)

    @strawberry.field
    def to(self, info: GqlInfo) -> Person:
        return person_ref(info.context, self.to_id)


@dataclass(slots=True)
class _Evidence:
    """Everything seen between two persons (either direction)."""

    relationships: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_keys: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


class _Search:
    """Bidirectional breadth-first search over person-level hops."""

    def __init__(self, ctx: RequestContext, source: str, target: str) -> None:
        self.ctx = ctx
        self.dist = ({source: 0}, {target: 0})
        self.parents: tuple[dict[str, list[str]], dict[str, list[str]]] = ({}, {})
        self.frontier = ([source], [target])
        self.depth = [0, 0]
        self.evidence: dict[frozenset[str], _Evidence] = defaultdict(_Evidence)
        self.truncated = False

    def _ev(self, a: str, b: str) -> _Evidence:
        return self.evidence[frozenset((a, b))]

    async def _neighbours(self, ids: list[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        store = self.ctx.store
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            for row in await store.query("api_persons_relationships", ids=batch):
                pid, other = str(row["person_id"]), str(row["other_id"])
                out[pid].add(other)
                a, b = (pid, other) if row.get("outgoing") else (other, pid)
                ident = (a, b, str(row.get("relationship")))
                self._ev(pid, other).relationships[ident] = {
                    "from_id": a,
                    "to_id": b,
                    "relationship": row.get("relationship"),
                    "lives_with": row.get("lives_with"),
                    "from_date": row.get("from_date"),
                    "to_date": row.get("to_date"),
                    "sources": [str(s) for s in row.get("sources") or []],
                }
            rows = await store.query(
                "api_connections_shared_events", ids=batch, limit=NEIGHBOUR_ROWS
            )
            if len(rows) >= NEIGHBOUR_ROWS:
                self.truncated = True
            for row in rows:
                pid, other = str(row["person_id"]), str(row["other_id"])
                out[pid].add(other)
                event = row.get("event") or {}
                eid = str(event.get("event_id", ""))
                ev = self._ev(pid, other)
                ev.events[eid] = event
                ev.event_keys[eid].update(
                    str(k) for k in (row.get("record_key"), row.get("other_key")) if k
                )
        return out

    async def run(self, max_depth: int) -> int | None:
        """Search until the sides meet or `max_depth` hops are covered; the best length."""
        best: int | None = None
        while self.depth[0] + self.depth[1] < max_depth and best is None:
            side = 0 if len(self.frontier[0]) <= len(self.frontier[1]) else 1
            if not self.frontier[side]:
                break
            dist, parents = self.dist[side], self.parents[side]
            level = self.depth[side] + 1
            found = await self._neighbours(sorted(self.frontier[side]))
            nxt: list[str] = []
            for pid in sorted(self.frontier[side]):
                for other in sorted(found.get(pid, ())):
                    if other not in dist:
                        if len(dist) >= MAX_VISITED:
                            self.truncated = True
                            continue
                        dist[other] = level
                        nxt.append(other)
                    if dist[other] == level:
                        parents.setdefault(other, []).append(pid)
            self.frontier[side][:] = nxt
            self.depth[side] = level
            meet = self.dist[0].keys() & self.dist[1].keys()
            if meet:
                best = min(self.dist[0][m] + self.dist[1][m] for m in meet)
        return best

    def _halves(self, side: int, node: str, limit: int) -> list[list[str]]:
        """Paths from the side's root to `node` (root first), at most `limit`."""
        if self.dist[side][node] == 0:
            return [[node]]
        out: list[list[str]] = []
        for parent in self.parents[side].get(node, []):
            if self.dist[side].get(parent) != self.dist[side][node] - 1:
                continue
            for half in self._halves(side, parent, limit - len(out)):
                out.append([*half, node])
                if len(out) >= limit:
                    return out
        return out

    def paths(self, best: int, limit: int) -> list[list[str]]:
        """Distinct shortest paths (source first), at most `limit`."""
        meet = sorted(
            m
            for m in self.dist[0].keys() & self.dist[1].keys()
            if self.dist[0][m] + self.dist[1][m] == best
        )
        seen: dict[tuple[str, ...], None] = {}
        for m in meet:
            for left in self._halves(0, m, limit + 1):
                for right in self._halves(1, m, limit + 1):
                    seen.setdefault((*left, *reversed(right[:-1])), None)
                    if len(seen) > limit:
                        self.truncated = True
                        return [list(p) for p in list(seen)[:limit]]
        return [list(p) for p in seen]

    def hops(self, path: list[str]) -> list[PathHop]:
        """Every relationship edge and shared event behind each step of a path."""
        out: list[PathHop] = []
        for a, b in zip(path, path[1:], strict=False):
            ev = self._ev(a, b)
            for _, rel in sorted(ev.relationships.items()):
                # Told from a's side: what b is to a.
                out.append(
                    PathHop(
                        kind=PathHopKind.RELATIONSHIP,
                        relationship=_seen_from(a, rel),
                        lives_with=rel.get("lives_with"),
                        from_date=rel.get("from_date"),
                        to_date=rel.get("to_date"),
                        sources=list(rel["sources"]),
                        events=[],
                        from_id=a,
                        to_id=b,
                    )
                )
            if ev.events:
                keys = sorted({k for e in ev.event_keys.values() for k in e})
                out.append(
                    PathHop(
                        kind=PathHopKind.SHARED_EVENT,
                        relationship=None,
                        lives_with=None,
                        from_date=None,
                        to_date=None,
                        sources=keys,
                        events=[
                            event_of(ev.events[e], sorted(ev.event_keys[e]))
                            for e in sorted(ev.events, key=lambda e: _event_order(ev, e))
                        ],
                        from_id=a,
                        to_id=b,
                    )
                )
        return out


def _event_order(ev: _Evidence, event_id: str) -> tuple[str, str]:
    return (str(ev.events[event_id].get("date") or ""), event_id)


def _seen_from(person_id: str, rel: dict[str, Any]) -> str:
    stated = str(rel.get("relationship") or "other")
    if rel["from_id"] == person_id:
        return stated
    return INVERSE.get(stated, f"inverse_of_{stated}")


async def find_connections(
    ctx: RequestContext, from_id: str, to_id: str, max_depth: int, first: int
) -> Connections:
    """Shortest paths between two persons (see the module docstring).

    Raises:
        BadInputError: depth or page size out of range, or the same person twice.
        NotFoundError: either person does not exist.
    """
    if not 1 <= max_depth <= MAX_CONNECTION_DEPTH:
        raise BadInputError(f"maxDepth must be between 1 and {MAX_CONNECTION_DEPTH}")
    if not 1 <= first <= MAX_PATHS:
        raise BadInputError(f"first must be between 1 and {MAX_PATHS}")
    a_data, b_data = await ctx.loaders.person.load_many([from_id, to_id])
    if a_data is None or b_data is None:
        raise NotFoundError("no person with that id")
    source, target = a_data.person_id, b_data.person_id
    if source == target:
        raise BadInputError("fromId and toId are the same person")
    search = _Search(ctx, source, target)
    best = await search.run(max_depth)
    paths = search.paths(best, first) if best is not None else []
    out = []
    for path in paths:
        for pid in path:
            ctx.saw_person(pid)
        out.append(PersonPath(length=len(path) - 1, hops=search.hops(path)))
    return Connections(
        length=best,
        paths=out,
        truncated=search.truncated,
        from_id=source,
        to_id=target,
    )


# ---------------------------------------------------------------------- explain


@strawberry.type(description="One comparison's contribution to a match weight.")
class ComparisonWeight:
    comparison: str
    level: str = strawberry.field(description="The level the pair reached (or missing/else).")
    m: float | None = strawberry.field(description="P(level | same person).")
    u: float | None = strawberry.field(description="P(level | different people).")
    weight: float = strawberry.field(description="Bits of evidence, TF adjustment included.")
    tf_adjustment: float = strawberry.field(description="Term-frequency adjustment (bits).")


@strawberry.type(description="Why the linkage model does (or does not) think two records match.")
class MatchExplanation:
    comparisons: list[ComparisonWeight]
    prior_weight: float = strawberry.field(description="log2 prior odds of a match.")
    total_weight: float = strawberry.field(description="Prior plus every comparison (bits).")
    probability: float
    deterministic: str | None = strawberry.field(
        description="The identifier that links the pair outright, if any."
    )
    cannot_link: str | None = strawberry.field(
        description="Why the pair can never be linked (different valid identifier, "
        "household look-alike), if so."
    )
    household_guard: bool
    same_person: bool = strawberry.field(
        description="True when both records resolve to the same person now."
    )
    summary: str = strawberry.field(description="The strongest evidence for and against.")
    model_run_id: str | None
    record_a: SourceRecord
    record_b: SourceRecord


@lru_cache(maxsize=2)
def _engine(spec_json: str | None = None) -> Any:
    from cpgraph.linkage.engine import LinkageEngine  # noqa: PLC0415 — heavy, on first use
    from cpgraph.linkage.spec import spec_from_dict  # noqa: PLC0415

    # the spec of the run that fitted the model, not whatever spec is packaged now
    # (runs that predate storing it: the packaged one)
    return LinkageEngine(spec_from_dict(json.loads(spec_json)) if spec_json else None)


def _explain(spec_json: str | None, a: dict[str, Any], b: dict[str, Any], model: Any) -> Any:
    return _engine(spec_json).explain_pair(a, b, model)


@lru_cache(maxsize=4)
def _model(model_json: str) -> Any:
    from cpgraph.linkage.model import Model  # noqa: PLC0415

    return Model.from_dict(json.loads(model_json))


def mention_of(record: RecordData) -> dict[str, Any]:
    """A stored mention in the linkage engine's input contract."""
    from cpgraph.linkage.service import MENTION_COLUMNS  # noqa: PLC0415

    return {c: record.props.get(c) for c in MENTION_COLUMNS if c != "person_id"}


def _summary(rows: list[ComparisonWeight], total: float, probability: float) -> str:
    scored = [r for r in rows if r.level != "missing"]
    pro = sorted((r for r in scored if r.weight > 0), key=lambda r: -r.weight)[:3]
    con = sorted((r for r in scored if r.weight < 0), key=lambda r: r.weight)[:3]

    def fmt(items: list[ComparisonWeight]) -> str:
        return ", ".join(f"{r.comparison} {r.level} ({r.weight:+.1f})" for r in items) or "none"

    return (
        f"total weight {total:+.1f} bits, probability {probability:.4f}; "
        f"for: {fmt(pro)}; against: {fmt(con)}"
    )


async def explain_match(ctx: RequestContext, key_a: str, key_b: str) -> MatchExplanation:
    """Score two stored mentions with the last linkage run's model.

    Raises:
        NotFoundError: a record is unknown, or no linkage run has stored a model.
    """
    from cpgraph.linkage.service import last_run  # noqa: PLC0415

    rec_a, rec_b = await ctx.loaders.record.load_many([key_a, key_b])
    if rec_a is None or rec_b is None:
        raise NotFoundError("no source record with that key")
    run = await last_run(ctx.store)
    if not run or not run.get("model"):
        raise NotFoundError("no linkage run has stored a model yet")
    model = _model(json.dumps(run["model"], sort_keys=True))
    spec_json = json.dumps(run["spec"], sort_keys=True) if run.get("spec") else None
    # CPU work: in the bounded worker pool, off the event loop
    explanation = await ctx.run_cpu(
        _explain, spec_json, mention_of(rec_a), mention_of(rec_b), model
    )
    rows = [
        ComparisonWeight(
            comparison=c.comparison,
            level=c.level,
            m=None if c.m is None else float(c.m),
            u=None if c.u is None else float(c.u),
            weight=float(c.weight),
            tf_adjustment=float(c.tf_adjustment),
        )
        for c in explanation.comparisons
    ]
    for rec in (rec_a, rec_b):
        if rec.person_id:
            ctx.saw_person(rec.person_id)
    return MatchExplanation(
        comparisons=rows,
        prior_weight=float(explanation.prior_weight),
        total_weight=float(explanation.total_weight),
        probability=float(explanation.probability),
        deterministic=explanation.deterministic,
        cannot_link=explanation.cannot_link,
        household_guard=bool(explanation.household_guard),
        same_person=bool(rec_a.person_id and rec_a.person_id == rec_b.person_id),
        summary=_summary(rows, float(explanation.total_weight), float(explanation.probability)),
        model_run_id=run.get("run_id"),
        record_a=SourceRecord.of(ctx, rec_a),
        record_b=SourceRecord.of(ctx, rec_b),
    )


@strawberry.type
class InsightQuery:
    """Root fields of this module (merged into `Query`)."""

    @strawberry.field(
        description="Shortest paths between two persons (at most maxDepth hops, 1-6), each "
        "hop with its evidence: relationship edges with their source records, shared events."
    )
    async def connections(
        self,
        info: GqlInfo,
        from_id: strawberry.ID,
        to_id: strawberry.ID,
        max_depth: int = 4,
        first: int = 5,
    ) -> Connections:
        return await find_connections(info.context, str(from_id), str(to_id), max_depth, first)

    @strawberry.field(
        description="Why the linkage model does or does not match two records: per comparison "
        "level, m, u, weight and term-frequency adjustment, total weight and probability."
    )
    async def explain_match(
        self, info: GqlInfo, record_key_a: str, record_key_b: str
    ) -> MatchExplanation:
        return await explain_match(info.context, record_key_a, record_key_b)
