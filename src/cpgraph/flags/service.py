"""Compute safeguarding flags over the graph store and write them as `Flag` nodes.

Runs after linkage: reads every live person (dates of birth), their person-level
relationships and the events the rules look at, in pages and batches; runs the
rule engine; then compares its flags with the stored ones (flag ids are stable:
rule, person, evidence; each stored flag carries a digest of what it says) and
writes only the difference: a flag no longer raised, or raised differently, is
deleted, a new or changed one written as `(:Person)-[:HAS_FLAG]->(:Flag)`. An
unchanged flag is left as it is, with the run id and time of the run that wrote
it. A reader sees the old flags until the new ones are written, never none.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from cpgraph.files import load_digests, save_digests
from cpgraph.flags.engine import FlagEngine, best_dob
from cpgraph.flags.model import (
    EventFact,
    Flag,
    FlagInput,
    Involvement,
    PossibleMatch,
    Relationship,
    Rules,
    parse_day,
)
from cpgraph.keys import content_digest
from cpgraph.store import GraphStore
from cpgraph.store.base import cursor_pages, json_page

log = logging.getLogger(__name__)

# Event types any rule reads (others are never fetched).
RULE_EVENT_TYPES = (
    "occurrence",
    "custody",
    "visit",
    "referral",
    "school_concern",
    "encounter",
    "cp_plan",
    "cp_is_flag",
)
_FACTS = ("referral_source", "nfa", "outcome", "raised_by_role", "occurrence_type")
# Review items that are still possible matches: not decided either way, or deferred (a
# record that changed since keeps its item open, marked stale, until the next link).
POSSIBLE_STATUSES = ("open", "deferred")
PAGE = 5_000
BATCH = 1_000
STORED_PAGE = 50_000


@dataclass(slots=True)
class FlagsReport:
    """What one `compute_flags` run did."""

    run_id: str
    as_of: str
    persons: int
    children: int
    flags: int
    by_code: dict[str, int] = field(default_factory=dict)
    deleted: int = 0
    written: int = 0
    seconds: float = 0.0
    #: whether only the flags that can have changed were computed (``persons`` and
    #: ``children`` then count those; ``flags`` and ``by_code`` are every stored flag)
    scoped: bool = False


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


async def reference_date(store: GraphStore) -> date:
    """The newest extract date loaded (today when nothing says otherwise)."""
    rows = await store.query("flags_reference_date")
    value = rows[0]["extracted_at"] if rows else None
    return parse_day(value) or datetime.now(UTC).date()


def page_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """A page query's rows: FalkorDB sends them as one JSON text (one parse, not one per
    value, as linkage reads mentions), Neo4j as a list."""
    return json_page(rows[0]["page"] if rows else None)


async def read_input(
    store: GraphStore, as_of: date, possible: list[PossibleMatch] | None = None
) -> FlagInput:
    """Read the snapshot the rules run over (paged by person id, batched).

    Args:
        store: the store.
        as_of: the reference date.
        possible: every possible match, when the caller has read them already
            (`read_possible_matches`; read here otherwise).
    """
    dobs: dict[str, date | None] = {}
    reader = _Reader(store)
    async for rows, _, _ in cursor_pages(
        store, "flags_persons_start", "flags_persons_page", limit=PAGE
    ):
        # (id order within a page: what the rules read does not depend on the cursor)
        page = sorted(rows, key=lambda r: str(r[0]))
        ids = [str(pid) for pid, _ in page]
        for pid, found in page:
            dobs[str(pid)] = best_dob(found or [])
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            await reader.relationships("flags_relationships_batch", batch)
            await reader.involvements(batch)
    if possible is None:
        possible = await read_possible_matches(store)
    return reader.snapshot(as_of, dobs, possible)


async def read_scoped_input(
    store: GraphStore, as_of: date, persons: Collection[str], possible: list[PossibleMatch]
) -> FlagInput:
    """The snapshot a scoped run's rules read for ``persons``' flags, and no more.

    Read: the live ``persons`` and everyone related to them, with their dates of birth;
    every relationship touching ``persons``; the involvements of those persons and of
    the possible matches of their relatives (a household adult's other records); and
    every involvement in the events of ``persons`` (who referred them, who they
    visited). That is all a rule reads of a child (`FlagEngine`), so each of
    ``persons``' flags comes out as a full read would make it.

    Args:
        store: the store.
        as_of: the reference date.
        persons: whose flags are computed.
        possible: every possible match (`read_possible_matches`).
    """
    reader = _Reader(store)
    ids = sorted(set(persons))
    dobs = await _dobs(store, ids)
    live = sorted(dobs)
    for start in range(0, len(live), BATCH):
        batch = live[start : start + BATCH]
        await reader.relationships("flags_relationships_batch", batch)
        await reader.relationships("flags_relationships_into_batch", batch)
    relatives = {p for r in reader.rels for p in (r.from_id, r.to_id)}
    dobs.update(await _dobs(store, sorted(relatives - dobs.keys())))
    scope = set(live)
    others = {pm.other_id for pm in possible if pm.person_id in relatives}
    involved = sorted(scope | relatives | others)
    for start in range(0, len(involved), BATCH):
        await reader.involvements(involved[start : start + BATCH])
    events = sorted({i.event_id for i in reader.invs if i.person_id in scope})
    for start in range(0, len(events), BATCH):
        await reader.event_involvements(events[start : start + BATCH])
    return reader.snapshot(as_of, dobs, possible)


async def _dobs(store: GraphStore, ids: list[str]) -> dict[str, date | None]:
    """The live persons among ``ids`` and their best date of birth."""
    out: dict[str, date | None] = {}
    for start in range(0, len(ids), BATCH):
        rows = page_rows(await store.query("flags_persons_by_ids", ids=ids[start : start + BATCH]))
        for pid, found in rows:
            out[str(pid)] = best_dob(found or [])
    return out


class _Reader:
    """Relationships, involvements and events as the batch queries return them."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.rels: set[Relationship] = set()
        self.invs: set[Involvement] = set()
        self.events: dict[str, EventFact] = {}

    async def relationships(self, query: str, batch: list[str]) -> None:
        """Add the edges ``query`` (leaving or arriving at ``batch``) returns."""
        for from_id, to_id, rel, lives, from_date, to_date, sources in page_rows(
            await self.store.query(query, ids=batch)
        ):
            self.rels.add(
                Relationship(
                    from_id=str(from_id),
                    to_id=str(to_id),
                    relationship=str(rel or "other"),
                    lives_with=lives,
                    from_date=from_date,
                    to_date=to_date,
                    sources=tuple(str(x) for x in sources or ()),
                )
            )

    async def involvements(self, batch: list[str]) -> None:
        """Add the involvements (and their events) of a batch of persons."""
        self._add(page_rows(await self.store.query("flags_involvements_batch", ids=batch)))

    async def event_involvements(self, batch: list[str]) -> None:
        """Add every involvement in a batch of events."""
        found = await self.store.query("flags_event_involvements_batch", events=batch)
        self._add(page_rows(found))

    def _add(self, rows: list[list[Any]]) -> None:
        for row in rows:
            pid, key, role, restriction, eid, kind = row[:6]
            if not eid or kind not in RULE_EVENT_TYPES:
                continue
            eid = str(eid)
            if eid not in self.events:
                cat, concern, concern_cat, day, end, agency, system = row[6:13]
                facts = dict(zip(_FACTS, row[13:], strict=True))
                self.events[eid] = EventFact(
                    event_id=eid,
                    type=kind,
                    category=cat,
                    is_concern=bool(concern),
                    concern_category=concern_cat,
                    date=day,
                    end_date=end,
                    agency=agency,
                    system=system,
                    facts={k: v for k, v in facts.items() if v is not None},
                )
            self.invs.add(
                Involvement(
                    person_id=str(pid),
                    record_key=str(key),
                    role=role,
                    event_id=eid,
                    child_contact_restriction=restriction
                    if isinstance(restriction, bool)
                    else None,
                )
            )

    def snapshot(
        self, as_of: date, dobs: dict[str, date | None], possible: list[PossibleMatch]
    ) -> FlagInput:
        """The rules' input, in an order that does not depend on the reading's."""
        return FlagInput(
            as_of=as_of,
            possible_matches=possible,
            dobs=dobs,
            relationships=sorted(self.rels, key=_rel_order),
            involvements=sorted(
                self.invs, key=lambda i: (i.person_id, i.event_id, i.record_key, i.role or "")
            ),
            events=self.events,
        )


def _rel_order(r: Relationship) -> tuple[Any, ...]:
    return (r.from_id, r.to_id, r.relationship, str(r.lives_with), r.from_date or "",
            r.to_date or "", r.sources)  # fmt: skip


async def read_possible_matches(store: GraphStore) -> list[PossibleMatch]:
    """Every undecided review item between two live persons, both ways round."""
    out: list[PossibleMatch] = []
    after = ""
    while True:
        rows = await store.query(
            "flags_possible_matches_page",
            after=after,
            statuses=list(POSSIBLE_STATUSES),
            limit=PAGE,
        )
        page = sorted(page_rows(rows), key=lambda r: str(r[0]))
        if not page:
            break
        for cid, key_a, key_b, a, b, prob, reason, evidence in page:
            if not a or not b or a == b:
                continue  # one record gone, or already one person
            common = {
                "candidate_id": str(cid),
                "probability": float(prob or 0.0),
                "reason": str(reason or "uncertain"),
                "evidence": tuple(str(e) for e in evidence or ()),
                "record_keys": (str(key_a), str(key_b)),
            }
            out.append(PossibleMatch(person_id=str(a), other_id=str(b), **common))
            out.append(PossibleMatch(person_id=str(b), other_id=str(a), **common))
        after = str(page[-1][0])
    return out


def flag_rows(flags: list[Flag], run_id: str, computed_at: str) -> list[dict[str, Any]]:
    """The `flags_write` rows of a run (each with its `flag_digest`)."""
    rows = [
        {
            "flag_id": f.flag_id,
            "person_id": f.person_id,
            "code": f.code,
            "title": f.title,
            "reason": f.reason,
            "as_of": f.as_of,
            "computed_at": computed_at,
            "run_id": run_id,
            "record_keys": f.record_keys,
            "event_ids": f.event_ids,
            "person_ids": f.person_ids,
            "evidence": f.evidence_json(),
            "confidence": f.confidence,
            "candidate_ids": f.candidate_ids,
        }
        for f in flags
    ]
    for row in rows:
        row["digest"] = flag_digest(row)
    return rows


#: What a flag's digest leaves out: when and by which run it was written, and the
#: reference date it was last looked at on (set on every stored flag: `flags_as_of_set`).
_NOT_DIGESTED = frozenset({"computed_at", "run_id", "digest", "as_of"})


def flag_digest(row: dict[str, Any]) -> str:
    """A hash of what a `flags_write` row says, but for when, by which run and as of
    which date (a reason that reads the date, a release in N days, says it)."""
    return content_digest(row, _NOT_DIGESTED)


async def stored_flags(store: GraphStore) -> dict[str, dict[str, Any]]:
    """Flag id → ``person_id`` and ``digest`` of every stored flag (paged by flag id)."""
    out: dict[str, dict[str, Any]] = {}
    after = ""
    while True:
        page = await store.query("flags_stored", after=after, limit=STORED_PAGE)
        for row in page:
            out[str(row["flag_id"])] = row
        if len(page) < STORED_PAGE:
            return out
        after = str(page[-1]["flag_id"])


def flags_cache_path(data_dir: Path, backend: str, graph: str) -> Path:
    """Where a flags run keeps the possible matches it read (keys and digests), for the
    next run to see which changed (:func:`compute_flags`' ``cache``)."""
    return data_dir.expanduser() / "flags" / f"{backend}-{graph}-possible.npz"


def rules_digest(rules: Rules) -> str:
    """A hash of a rule table (a scoped run needs the table the last run used)."""
    return content_digest({"common": rules.common, "rules": rules.rules}, ())


def _possible_digests(possible: list[PossibleMatch]) -> dict[str, int]:
    """``candidate|person|other`` → a digest of what the possible match says (each pair
    once): a key gone or new names the persons whose flags it touched or touches."""
    out: dict[str, int] = {}
    for pm in possible:
        if pm.person_id > pm.other_id:
            continue  # (both ways round in the list)
        key = f"{pm.candidate_id}|{pm.person_id}|{pm.other_id}"
        what = {"p": pm.probability, "r": pm.reason, "e": pm.evidence, "k": pm.record_keys}
        out[key] = int(content_digest(what, ()), 16)
    return out


@dataclass(frozen=True, slots=True)
class _LastRun:
    run_id: str
    started_at: str
    as_of: str
    rules: str
    loads: frozenset[str]


async def _last_run(store: GraphStore) -> _LastRun | None:
    rows = await store.query("flags_run_last")
    if not rows or not rows[0].get("run_id"):
        return None
    r = rows[0]
    return _LastRun(
        str(r["run_id"]),
        str(r.get("started_at") or ""),
        str(r["as_of"]),
        str(r["rules"]),
        frozenset(r.get("loads") or ()),
    )


async def _loads(store: GraphStore) -> list[str]:
    """Every load as ``load_id:runs`` (a load run again is a new entry)."""
    return sorted(f"{r['load_id']}:{r['runs']}" for r in await store.query("flags_loads"))


async def _ids_page(store: GraphStore, query: str, **params: Any) -> set[str]:
    """The person ids of a query answering one `page` (`page_rows`)."""
    return {str(p) for p in page_rows(await store.query(query, **params))}


async def _ids(store: GraphStore, query: str, **params: Any) -> set[str]:
    """The person ids of a query answering one row with a list ``ids``."""
    rows = await store.query(query, **params)
    return {str(p) for p in (rows[0]["ids"] if rows else ())}


async def _scope(
    store: GraphStore,
    changed: Collection[str],
    last: _LastRun,
    loads: list[str],
    possible: list[PossibleMatch],
    digests: dict[str, int],
    before: dict[str, int],
    dated: set[str],
) -> set[str]:
    """The persons whose flags a scoped run recomputes.

    Touched: ``changed`` (the linkage run's), those involved in events of loads the
    last flags run had not seen, the persons of steward decisions since it started
    (a merge or split moves records between runs), and both persons of each possible
    match that is new, gone or says something else. A child's flags read the child,
    its relatives, those its records share an event with, and its relatives' possible
    matches (`read_scoped_input`): so the scope is the touched persons, their neighbours
    (related, or sharing an event), and the neighbours of the touched persons'
    possible matches. ``dated``: those touched by a new reference date (`_dated`).
    """
    touched = set(changed) | dated
    new_loads = sorted({entry.rsplit(":", 1)[0] for entry in set(loads) - last.loads})
    if new_loads:
        touched |= await _ids_page(store, "flags_persons_of_loads", loads=new_loads)
    touched |= await _ids(store, "flags_decided_persons", since=last.started_at)
    for key in digests.keys() ^ before.keys() | {
        k for k in digests.keys() & before.keys() if digests[k] != before[k]
    }:
        touched.update(key.split("|")[1:])
    partners = {pm.other_id for pm in possible if pm.person_id in touched}
    scope = set(touched)
    reach = sorted(touched | partners)
    for start in range(0, len(reach), BATCH):
        scope |= await _ids_page(
            store, "flags_neighbour_ids_batch", ids=reach[start : start + BATCH]
        )
    return scope | partners


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


async def _dated(store: GraphStore, before: date, now: date, rules: Rules) -> set[str]:
    """The persons whose flags can read otherwise on ``now`` than on ``before`` through
    the date alone (a scoped run's reference date moved).

    The rules read the reference date in four ways (`cpgraph.flags.engine`): ages
    (under `adult_age`, or born yet), relationships that hold on the date (and were
    joined within `recent_days` of it), custody that has started and not ended, and a
    release within `release_days` (whose reason counts the days to it). A flag can change
    with the date only where one of those dates lies between the two reference dates
    (a release anywhere in its window): those persons, two days' margin each side.
    """
    lo, hi = min(before, now), max(before, now)
    margin = timedelta(days=2)
    adult, release = rules.adult_age, rules.release_days
    recent = int(rules.rules.get("HOUSEHOLD_ADULT_DOMESTIC_ABUSE", {}).get("recent_days", 0))

    def span(a: date, b: date) -> list[str]:
        return [(a - margin).isoformat(), (b + margin).isoformat()]

    out: set[str] = set()
    for a, b in ((lo, hi), (_years_before(lo, adult), _years_before(hi, adult))):
        born_lo, born_hi = span(a, b)
        out |= await _ids(store, "flags_persons_born_between", lo=born_lo, hi=born_hi)
    ago = timedelta(days=recent)
    ranges = [span(lo, hi), span(lo - ago, hi - ago)]
    out |= await _ids(store, "flags_related_dated_between", ranges=ranges)
    ranges = [span(lo, hi + timedelta(days=release))]
    out |= await _ids(store, "flags_custody_dated_between", ranges=ranges)
    return out


async def _run_scope(
    store: GraphStore,
    day: date,
    rules: Rules,
    digest: str,
    changed: Collection[str],
    cache: Path,
    loads: list[str],
    possible: list[PossibleMatch],
    digests: dict[str, int],
) -> set[str] | None:
    """The persons a scoped run recomputes (`_scope`), or ``None`` when the last run
    cannot be trusted for it: none recorded, another rule table, its cache gone or
    another run's."""
    last = await _last_run(store)
    if last is None or last.rules != digest:
        return None
    before = load_digests(cache, meta={"run_id": last.run_id})
    last_day = parse_day(last.as_of)
    if before is None or last_day is None:
        return None
    dated = await _dated(store, last_day, day, rules) if last_day != day else set()
    return await _scope(store, changed, last, loads, possible, digests, before, dated)


async def compute_flags(
    store: GraphStore,
    *,
    as_of: date | None = None,
    rules: Rules | None = None,
    changed: Collection[str] | None = None,
    cache: Path | None = None,
) -> FlagsReport:
    """Compute the safeguarding flags; write only those that changed.

    A scoped run (``changed`` and ``cache`` given, after an incremental link) recomputes
    only the flags that can have changed since the last run: it needs that run's
    record (the same rule table) and its cache of possible matches; without them it
    computes every flag. A new reference date adds the persons whose flags the date
    alone can change (`_dated`). Its result is the full run's (tests hold them equal).

    Args:
        store: a started store holding linked persons.
        as_of: the reference date (default: the newest extract date loaded).
        rules: the rule table (default: the packaged `rules.toml`).
        changed: persons the linkage run changed (their mentions, records or edges);
            ``None``: compute every flag.
        cache: where this run keeps the possible matches it read (`flags_cache_path`).

    Returns:
        Counts by code, the reference date, the run id written on new or changed
        flags, how many flags were deleted and written, and whether it was scoped.
    """
    t0 = time.perf_counter()
    # (before anything is read: a decision made meanwhile is the next run's to see)
    started_at = datetime.now(UTC).isoformat(timespec="microseconds")
    day = as_of or await reference_date(store)
    rules = rules or Rules.load()
    digest = rules_digest(rules)
    loads = await _loads(store)
    possible = await read_possible_matches(store)
    digests = _possible_digests(possible)
    scope = None
    if changed is not None and cache is not None:
        scope = await _run_scope(
            store, day, rules, digest, changed, cache, loads, possible, digests
        )
    if scope is None:
        data = await read_input(store, day, possible)
    else:
        data = await read_scoped_input(store, day, scope, possible)
    engine = FlagEngine(data, rules)
    flags = engine.run(scope)
    run_id = uuid.uuid4().hex
    rows = flag_rows(flags, run_id, _now())
    stored = await stored_flags(store)
    kept: dict[str, dict[str, Any]] = {}  # (a scoped run leaves the others' flags alone)
    if scope is not None:
        kept = {fid: s for fid, s in stored.items() if s["person_id"] not in scope}
        stored = {fid: s for fid, s in stored.items() if s["person_id"] in scope}
    now = {r["flag_id"]: r for r in rows}
    # new or raised differently: written first (a reader never sees a flag missing)
    write = [r for r in rows if r["digest"] != (stored.get(r["flag_id"]) or {}).get("digest")]
    if write:
        await store.write_batches("flags_write", write)
    # gone, or the old version of a changed one: deleted by id and stored digest
    drop = [
        {"flag_id": fid, "person_id": s["person_id"], "digest": s.get("digest") or ""}
        for fid, s in sorted(stored.items())
        if fid not in now or now[fid]["digest"] != s.get("digest")
    ]
    if drop:
        await store.write_batches("flags_delete", drop)
    # (the others, unchanged, now stand as of this date too)
    await store.execute("flags_as_of_set", as_of=day.isoformat())
    if cache is not None:
        # the cache first, then the record naming it: a run stopped in between leaves
        # a record the cache does not match, and the next run computes every flag
        save_digests(cache, list(digests), np.array(list(digests.values()), np.uint64),
                     meta={"run_id": run_id})  # fmt: skip
    await store.execute(
        "flags_run_record",
        run_id=run_id,
        at=_now(),
        started_at=started_at,
        as_of=day.isoformat(),
        rules=digest,
        loads=loads,
        scoped=scope is not None,
    )
    codes = Counter(f.code for f in flags) + Counter(str(s.get("code")) for s in kept.values())
    report = FlagsReport(
        run_id=run_id,
        as_of=day.isoformat(),
        persons=len(data.dobs) if scope is None else len(scope),
        children=sum(1 for c in engine.children() if scope is None or c in scope),
        flags=len(flags) + len(kept),
        by_code=dict(sorted(codes.items())),
        deleted=len(drop),
        written=len(write),
        seconds=round(time.perf_counter() - t0, 3),
        scoped=scope is not None,
    )
    log.info("flags computed: %d flags for %d persons", report.flags, report.persons)
    return report
