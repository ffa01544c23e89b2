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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

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


async def read_input(store: GraphStore, as_of: date) -> FlagInput:
    """Read the snapshot the rules run over (paged by person id, batched)."""
    dobs: dict[str, date | None] = {}
    relationships: list[Relationship] = []
    involvements: list[Involvement] = []
    events: dict[str, EventFact] = {}
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
            rels = page_rows(await store.query("flags_relationships_batch", ids=batch))
            for from_id, to_id, rel, lives, from_date, to_date, sources in rels:
                relationships.append(
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
            for row in page_rows(await store.query("flags_involvements_batch", ids=batch)):
                pid, key, role, restriction, eid, kind = row[:6]
                if not eid or kind not in RULE_EVENT_TYPES:
                    continue
                eid = str(eid)
                if eid not in events:
                    cat, concern, concern_cat, day, end, agency, system = row[6:13]
                    facts = dict(zip(_FACTS, row[13:], strict=True))
                    events[eid] = EventFact(
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
                involvements.append(
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
    return FlagInput(
        as_of=as_of,
        possible_matches=await read_possible_matches(store),
        dobs=dobs,
        relationships=relationships,
        involvements=sorted(
            set(involvements), key=lambda i: (i.person_id, i.event_id, i.record_key, i.role or "")
        ),
        events=events,
    )


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


#: What a flag's digest leaves out: when and by which run it was written.
_NOT_DIGESTED = frozenset({"computed_at", "run_id", "digest"})


def flag_digest(row: dict[str, Any]) -> str:
    """A hash of what a `flags_write` row says, but for when and by which run."""
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


async def compute_flags(
    store: GraphStore, *, as_of: date | None = None, rules: Rules | None = None
) -> FlagsReport:
    """Compute every safeguarding flag; write only those that changed.

    Args:
        store: a started store holding linked persons.
        as_of: the reference date (default: the newest extract date loaded).
        rules: the rule table (default: the packaged `rules.toml`).

    Returns:
        Counts by code, the reference date, the run id written on new or changed
        flags, and how many flags were deleted and written.
    """
    t0 = time.perf_counter()
    day = as_of or await reference_date(store)
    data = await read_input(store, day)
    engine = FlagEngine(data, rules)
    flags = engine.run()
    run_id = uuid.uuid4().hex
    rows = flag_rows(flags, run_id, _now())
    stored = await stored_flags(store)
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
    report = FlagsReport(
        run_id=run_id,
        as_of=day.isoformat(),
        persons=len(data.dobs),
        children=len(engine.children()),
        flags=len(flags),
        by_code=dict(sorted(Counter(f.code for f in flags).items())),
        deleted=len(drop),
        written=len(write),
        seconds=round(time.perf_counter() - t0, 3),
    )
    log.info("flags computed: %d flags for %d persons", report.flags, report.persons)
    return report
