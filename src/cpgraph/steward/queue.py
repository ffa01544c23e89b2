"""The stored review queue: uncertain pairs, most consequential first, ready to show.

`cpgraph link` writes the queue as it decides it (`write_queue`): one
`ReviewCandidate` per pair with its probability, why it was kept apart, the weight
waterfall of that run's spec and model, and what accepting the match would change
ranked once (`consequence`) into unique, indexed sort keys. A page of the queue is a
keyset read over one of those keys (`queue_page`): the cost of a page does not grow
with the queue.

Consequence comes first because a steward's time is short: a match that would put
a child into a household, or an adult with a police or prison history into a
child's network, outranks one that tidies up two health records.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from hashlib import sha1
from typing import TYPE_CHECKING, Any

from cpgraph.keys import content_digest
from cpgraph.steward.ids import weight_probability
from cpgraph.steward.service import id_order
from cpgraph.store import GraphStore
from cpgraph.work import check_cancelled

if TYPE_CHECKING:  # pandas only at link time: `cpgraph review` starts without it
    import pandas as pd

ADULT_AGE = 18
POLICE_AGENCIES = frozenset({"police", "prisons"})
OPEN_STATUSES = ("open",)
UNCERTAIN = "uncertain"
_REVERSE_DIGITS = str.maketrans("0123456789", "9876543210")
_KEY_BATCH = 5000
_RANK_TOP = 1e6


class Reason(Enum):
    """Why a candidate matters."""

    CHILD_JOINS_HOUSEHOLD = "CHILD_JOINS_HOUSEHOLD"
    POLICE_HISTORY_JOINS_CHILD_NETWORK = "POLICE_HISTORY_JOINS_CHILD_NETWORK"
    CONCERNS_MOVE = "CONCERNS_MOVE"
    NEW_AGENCY = "NEW_AGENCY"
    NEW_RELATIONSHIPS = "NEW_RELATIONSHIPS"


WEIGHTS = {
    Reason.CHILD_JOINS_HOUSEHOLD: 100.0,
    Reason.POLICE_HISTORY_JOINS_CHILD_NETWORK: 80.0,
    Reason.CONCERNS_MOVE: 10.0,
    Reason.NEW_AGENCY: 5.0,
    Reason.NEW_RELATIONSHIPS: 5.0,
}


class QueueOrder(Enum):
    """Orders of the review queue."""

    CONSEQUENCE = "CONSEQUENCE"
    PROBABILITY_ASC = "PROBABILITY_ASC"
    PROBABILITY_DESC = "PROBABILITY_DESC"
    NEWEST = "NEWEST"


def _age(dob: Any, today: date) -> int | None:
    if not isinstance(dob, str) or len(dob) < 10:
        return None
    try:
        d = date.fromisoformat(dob[:10])
    except ValueError:
        return None
    return today.year - d.year - ((today.month, today.day) < (d.month, d.day))


def _is_child(dobs: list[Any], today: date) -> bool:
    ages = [a for a in (_age(d, today) for d in dobs) if a is not None]
    return bool(ages) and min(ages) < ADULT_AGE


@dataclass(slots=True)
class PersonSummary:
    """What the queue knows about a person a record resolves to."""

    person_id: str
    display_name: str | None
    record_keys: list[str]
    agencies: list[str]
    is_child: bool
    police_history: bool
    household: list[str]  # persons living with them
    related: list[str]
    child_in_network: bool
    concerns: list[str]  # concern event ids
    events: int

    @classmethod
    def from_row(cls, row: dict[str, Any], today: date) -> PersonSummary:
        """Build from a `steward_person_stats` row."""
        recs = [r for r in row["records"] if r and r[0]]
        events = [e for e in row["events"] if e and e[0]]
        related = [x for x in row["related"] if x and x[0]]
        is_child = _is_child([r[2] for r in recs], today)
        dobs_of: dict[str, list[Any]] = {}
        household: set[str] = set()
        for pid, _rel, lives, dob in related:
            dobs_of.setdefault(pid, []).append(dob)
            if lives:
                household.add(pid)
        agencies = sorted({str(r[1]) for r in recs if r[1]})
        police = bool(POLICE_AGENCIES & set(agencies)) or any(e[1] == "police" for e in events)
        return cls(
            person_id=row["person_id"],
            display_name=row.get("display_name"),
            record_keys=sorted(r[0] for r in recs),
            agencies=agencies,
            is_child=is_child,
            police_history=police,
            household=sorted(household),
            related=sorted(dobs_of),
            child_in_network=is_child or any(_is_child(d, today) for d in dobs_of.values()),
            concerns=sorted({str(e[0]) for e in events if e[2]}),
            events=len({e[0] for e in events}),
        )


@dataclass(slots=True)
class WaterfallStep:
    """One bar of the weight waterfall."""

    label: str
    level: str
    contribution: float
    cumulative: float


@dataclass(slots=True)
class Impact:
    """What accepting the match would change."""

    surviving_person_id: str | None
    retired_person_id: str | None
    records_moved: int
    agencies_added: list[str]
    relationships_gained: int
    concerns_gained: int
    reasons: list[Reason]
    summary: str


@dataclass(slots=True)
class QueueItem:
    """One candidate, ready to show."""

    candidate_id: str
    version: int
    status: str
    key_a: str
    key_b: str
    probability: float
    weight: float
    record_a: dict[str, Any]
    record_b: dict[str, Any]
    person_a: PersonSummary | None
    person_b: PersonSummary | None
    prior: float
    steps: list[WaterfallStep]
    impact: Impact
    consequence: float
    created_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    reason: str = UNCERTAIN  # why linkage kept the pair apart
    stale: bool = False  # a record changed since the pair was scored
    flagged: bool = False  # a person involved has a safeguarding flag
    within_system: str | None = None  # both records of this system's own index
    sort_key: str = ""  # its position in the page's order (the cursor), as text


def waterfall(
    breakdown: dict[str, Any] | None, final: float, names: Sequence[str] = ()
) -> tuple[float, list[WaterfallStep]]:
    """Ordered contributions from the prior to the final weight.

    Args:
        breakdown: the pair's weight breakdown (comparison → level and weight).
        final: the stored total weight.
        names: the comparison names in the order of the run's spec (those not named
            follow in name order, e.g. the relationship anchor).

    Returns:
        The prior weight and the steps: the prior first, then each comparison's
        contribution; a last ``adjustment`` step closes any gap to the stored weight
        (rounding, household guard).
    """
    prior, steps, total = waterfall_steps(breakdown, names)
    closing = adjustment(total, final)
    return prior, steps if closing is None else [*steps, closing]


def waterfall_steps(
    breakdown: dict[str, Any] | None, names: Sequence[str] = ()
) -> tuple[float, list[WaterfallStep], float]:
    """The prior and the steps of :func:`waterfall` before any adjustment, and the
    weight they add up to (the same for every pair sharing a breakdown)."""
    bd = dict(breakdown or {})
    prior = float((bd.pop("prior", None) or {}).get("weight", 0.0))
    known = [n for n in names if n in bd]
    order = known + sorted(n for n in bd if n not in set(known))
    steps = [WaterfallStep("prior", "prior", round(prior, 3), round(prior, 3))]
    total = prior
    for name in order:
        item = bd[name] or {}
        w = float(item.get("weight", 0.0))
        total += w
        steps.append(WaterfallStep(name, str(item.get("level", "")), round(w, 3), round(total, 3)))
    return prior, steps, total


def adjustment(total: float, final: float) -> WaterfallStep | None:
    """The step closing the gap from the steps' ``total`` to the stored weight, if any."""
    gap = final - total
    if abs(gap) > 0.01:
        return WaterfallStep("adjustment", "other", round(gap, 3), round(final, 3))
    return None


def impact_of(pa: PersonSummary | None, pb: PersonSummary | None) -> Impact:
    """What merging the two persons would change, and why it matters."""
    if pa is None or pb is None or pa.person_id == pb.person_id:
        return Impact(None, None, 0, [], 0, 0, [], "no change: the records are one person")
    survivor, other = sorted((pa, pb), key=lambda p: id_order(p.person_id))
    reasons: list[Reason] = []
    for child, adult in ((pa, pb), (pb, pa)):
        if child.is_child and set(adult.household) - set(child.household) - {child.person_id}:
            reasons.append(Reason.CHILD_JOINS_HOUSEHOLD)
            break
    for adult, kid in ((pa, pb), (pb, pa)):
        if adult.police_history and not adult.is_child and kid.child_in_network:
            reasons.append(Reason.POLICE_HISTORY_JOINS_CHILD_NETWORK)
            break
    added = sorted(set(other.agencies) - set(survivor.agencies))
    rel_gain = len(set(other.related) - set(survivor.related) - {survivor.person_id})
    rel_gain += len(set(survivor.related) - set(other.related) - {other.person_id})
    concerns = len(set(pa.concerns) ^ set(pb.concerns))
    if concerns:
        reasons.append(Reason.CONCERNS_MOVE)
    if set(pa.agencies) ^ set(pb.agencies):
        reasons.append(Reason.NEW_AGENCY)
    if rel_gain:
        reasons.append(Reason.NEW_RELATIONSHIPS)
    parts = [f"{other.person_id} ({len(other.record_keys)} records) joins {survivor.person_id}"]
    if added:
        parts.append("adds agencies " + ", ".join(added))
    if rel_gain:
        parts.append(f"{rel_gain} relationships join one network")
    if concerns:
        parts.append(f"{concerns} concern events move")
    if Reason.CHILD_JOINS_HOUSEHOLD in reasons:
        parts.append("a child joins a household")
    if Reason.POLICE_HISTORY_JOINS_CHILD_NETWORK in reasons:
        parts.append("an adult with police or prison history joins a child's network")
    return Impact(
        surviving_person_id=survivor.person_id,
        retired_person_id=other.person_id,
        records_moved=len(other.record_keys),
        agencies_added=added,
        relationships_gained=rel_gain,
        concerns_gained=concerns,
        reasons=reasons,
        summary="; ".join(parts),
    )


def consequence(item_impact: Impact, prob: float) -> float:
    """Rank score: the reasons' weights, concerns and relationships, then uncertainty."""
    score = sum(WEIGHTS[r] for r in item_impact.reasons)
    score += 2.0 * min(item_impact.concerns_gained, 10)
    score += 1.0 * min(item_impact.relationships_gained, 10)
    return round(score + (1.0 - abs(prob - 0.5) * 2.0), 4)


# ------------------------------------------------------------------ sort keys
def candidate_id_of(key_a: str, key_b: str) -> str:
    """The stable id of the candidate on two records (either order)."""
    lo, hi = sorted((key_a, key_b))
    return "rc-" + sha1(f"{lo}|{hi}".encode()).hexdigest()[:16]


def rank_key(score: float, candidate_id: str) -> str:
    """Ascending key of the CONSEQUENCE order: highest consequence first."""
    return f"{_RANK_TOP - score:014.4f}|{candidate_id}"


def prob_key(prob: float, candidate_id: str) -> str:
    """Ascending key of PROBABILITY_ASC."""
    return f"{prob:.6f}|{candidate_id}"


def prob_desc_key(prob: float, candidate_id: str) -> str:
    """Ascending key of PROBABILITY_DESC."""
    return f"{1.0 - prob:.6f}|{candidate_id}"


def new_key(created_at: str | None, candidate_id: str) -> str:
    """Ascending key of NEWEST: swapping each digit for 9 - digit reverses ISO stamps."""
    return f"{(created_at or '').translate(_REVERSE_DIGITS) or '~'}|{candidate_id}"


def sort_key(item: QueueItem, order: QueueOrder) -> str:
    """A unique, ascending sort key of an order (link time numbers positions by it)."""
    if order is QueueOrder.CONSEQUENCE:
        return rank_key(item.consequence, item.candidate_id)
    if order is QueueOrder.PROBABILITY_ASC:
        return prob_key(item.probability, item.candidate_id)
    if order is QueueOrder.PROBABILITY_DESC:
        return prob_desc_key(item.probability, item.candidate_id)
    return new_key(item.created_at, item.candidate_id)


def sort_queue(items: list[QueueItem], order: QueueOrder) -> list[QueueItem]:
    """Items sorted by `sort_key`."""
    return sorted(items, key=lambda it: sort_key(it, order))


# ------------------------------------------------------------------ link time
def _kept_apart(breakdown: Any) -> str | None:
    if isinstance(breakdown, dict):
        level = (breakdown.get("kept_apart") or {}).get("level")
        return str(level) if level else None
    return None


def _dobs_by_person(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """Each person's distinct birth dates, in first-seen order.

    (Distinct: a relative's summary only asks whether any of them is a child's, and a
    person of many records would otherwise repeat one relationship per record.)
    """
    out: dict[str, dict[Any, None]] = defaultdict(dict)
    for pid, dob in zip(frame["person_id"], frame["dob"], strict=True):
        out[pid][dob] = None
    return {pid: list(dobs) for pid, dobs in out.items()}


def queue_rows(
    review: pd.DataFrame,
    assignments: pd.DataFrame,
    mentions: pd.DataFrame,
    relationships: pd.DataFrame,
    events: dict[str, list[list[Any]]],
    flagged: set[str],
    names: Sequence[str],
    run_id: str,
    at: str,
    today: date | None = None,
) -> list[dict[str, Any]]:
    """The `linkage_review_upsert` rows of one run (CPU only; no store).

    Consequence is computed here, once, for every pair in one pass over the persons
    the pairs touch, instead of on every page.

    Args:
        review: the engine's review pairs (``key_a, key_b, probability, weight,
            breakdown`` and, when the engine gives it, ``reason``).
        assignments: ``key, person_id`` of every mention after the run.
        mentions: the mentions read (``key, system, agency, dob, row_hash``).
        relationships: stated relationships (``from_key, to_key, relationship,
            lives_with``).
        events: record key → ``[event_id, agency, is_concern]`` of its events.
        flagged: persons with a safeguarding flag.
        names: the run's spec comparison names, in order (the waterfall's order).
        run_id: the run.
        at: when (ISO).
        today: the date ages are computed at (default: today).
    """
    import numpy as np  # noqa: PLC0415 — link time only
    import pandas as pd  # noqa: PLC0415

    if review.empty:
        return []
    today = today or date.today()
    # each key's person, one Series for every look-up below (not a dict besides)
    person_s = persons_by_key(assignments)
    # (only the columns read below: a copy of every column would be ~0.1 GB at 1M)
    mi = mentions[["key", "agency", "dob", "system", "row_hash"]].set_index("key")
    lo = np.where(review["key_a"] <= review["key_b"], review["key_a"], review["key_b"])
    hi = np.where(review["key_a"] <= review["key_b"], review["key_b"], review["key_a"])
    pa = persons_of(person_s, lo)
    pb = persons_of(person_s, hi)
    involved = {p for p in (*pa, *pb) if p}
    recs = pd.DataFrame({"key": assignments["key"], "person_id": assignments["person_id"]})
    recs = recs[recs["person_id"].isin(involved)]
    recs = recs.assign(
        agency=mi["agency"].reindex(recs["key"]).to_numpy(),
        dob=mi["dob"].reindex(recs["key"]).to_numpy(),
    )
    # person-level relationships of the involved persons (both directions)
    # (the persons looked up in the Series first, the rows the queue needs taken once:
    # not a copy of every relationship with two more columns, then a copy of that)
    from_id = person_s.reindex(relationships["from_key"].to_numpy(object)).to_numpy(object)
    to_id = person_s.reindex(relationships["to_key"].to_numpy(object)).to_numpy(object)
    keep = pd.notna(from_id) & pd.notna(to_id) & (from_id != to_id)
    keep &= (
        pd.Series(from_id).isin(involved).to_numpy() | pd.Series(to_id).isin(involved).to_numpy()
    )
    at_rows = np.flatnonzero(keep)
    rel = pd.DataFrame(
        {
            "from_id": from_id[at_rows],
            "to_id": to_id[at_rows],
            "relationship": relationships["relationship"].to_numpy(object)[at_rows],
            "lives_with": relationships["lives_with"].to_numpy(object)[at_rows],
        }
    )
    others = set(rel["from_id"]) | set(rel["to_id"])
    all_recs = pd.DataFrame({"person_id": assignments["person_id"], "key": assignments["key"]})
    all_recs = all_recs[all_recs["person_id"].isin(others)]
    dobs = _dobs_by_person(all_recs.assign(dob=mi["dob"].reindex(all_recs["key"]).to_numpy()))
    related: dict[str, list[list[Any]]] = defaultdict(list)
    for f, t, r, lw in zip(
        rel["from_id"], rel["to_id"], rel["relationship"], rel["lives_with"], strict=True
    ):
        lives = None if pd.isna(lw) else bool(lw)  # NaN / None: not stated
        for me, other in ((f, t), (t, f)):
            if me in involved:
                for dob in dobs.get(other) or [None]:
                    related[me].append([other, r, lives, dob])
    records: dict[str, list[list[Any]]] = defaultdict(list)
    for key, pid, agency, dob in zip(
        recs["key"], recs["person_id"], recs["agency"], recs["dob"], strict=True
    ):
        records[pid].append([key, agency, dob if dob == dob else None])
    persons: dict[str, PersonSummary] = {}
    for pid in involved:
        evs = [e for k, *_ in records[pid] for e in events.get(k, ())]
        persons[pid] = PersonSummary.from_row(
            {
                "person_id": pid,
                "records": records[pid],
                "events": evs or [[None, None, None]],
                "related": related.get(pid) or [[None, None, None, None]],
            },
            today,
        )
    reasons = review["reason"] if "reason" in review.columns else [None] * len(review)
    # what beyond a shared name and birth date supports each pair (flags use it)
    support = list(review["evidence"]) if "evidence" in review.columns else [()] * len(review)
    # plain dicts of the pairs' records only: a Series lookup per pair costs ~100 times
    # more, a dict of every mention ~3 s at 1M mentions
    ends = pd.Index(np.concatenate([lo, hi])).unique()
    at_ends = mi[["system", "row_hash"]].reindex(ends)
    system = dict(zip(ends, at_ends["system"], strict=True))
    row_hash = dict(zip(ends, at_ends["row_hash"], strict=True))
    # The engine gives pairs of equal levels and weights one shared breakdown (4.5k
    # objects for 14.8k pairs at 141k mentions): its JSON and waterfall are made once
    # per object (the objects live as long as `review`); a pair's own total weight
    # only adds the closing step.
    made: dict[int, tuple[str | None, float, str, float]] = {}
    none: dict[str, Any] = {}
    rows = []
    for x, (k_lo, k_hi, prob, weight, bd, why) in enumerate(
        zip(lo, hi, review["probability"], review["weight"], review["breakdown"], reasons,
            strict=True)
    ):  # fmt: skip
        cid = candidate_id_of(k_lo, k_hi)
        p, w = float(prob), float(weight)
        bd = bd if isinstance(bd, dict) else none
        shown = made.get(id(bd))
        if shown is None:
            prior, steps, total = waterfall_steps(bd, names)
            shown = made[id(bd)] = (
                _json(bd) if bd else None,
                prior,
                _json([[s.label, s.level, s.contribution, s.cumulative] for s in steps]),
                total,
            )
        bd_json, prior, steps_json, total = shown
        closing = adjustment(total, w)
        if closing is not None:
            # (the JSON of the steps with one more: json.dumps' own separator)
            last = [closing.label, closing.level, closing.contribution, closing.cumulative]
            steps_json = f"{steps_json[:-1]}, {_json(last)}]"
        imp = impact_of(persons.get(pa[x] or ""), persons.get(pb[x] or ""))
        score = consequence(imp, p)
        rows.append(
            {
                "candidate_id": cid,
                "key_a": k_lo,
                "key_b": k_hi,
                "probability": p,
                "weight": w,
                "breakdown": bd_json,
                "run_id": run_id,
                "at": at,
                "person_a": pa[x],
                "person_b": pb[x],
                "reason": str(why) if why else (_kept_apart(bd) or UNCERTAIN),
                "consequence": score,
                "prior": prior,
                "steps": steps_json,
                "impact_reasons": [r.value for r in imp.reasons],
                "system_a": _str(system.get(k_lo)),
                "system_b": _str(system.get(k_hi)),
                "hash_a": _str(row_hash.get(k_lo)),
                "hash_b": _str(row_hash.get(k_hi)),
                "flagged": bool({pa[x], pb[x]} & flagged),
                "evidence": [str(e) for e in support[x]],
                "within_system": _str(system.get(k_lo)) if _within_system(bd) else None,
            }
        )
    return rows


def persons_by_key(assignments: pd.DataFrame) -> pd.Series:
    """``assignments``' person per mention key (keys unique)."""
    import pandas as pd  # noqa: PLC0415 — link time only

    return pd.Series(
        assignments["person_id"].to_numpy(object), index=assignments["key"].to_numpy(object)
    )


def persons_of(person_s: pd.Series, keys: Any) -> list[str | None]:
    """The person of each key (None: a key no assignment holds)."""
    return [None if p is None or p != p else p for p in person_s.reindex(keys).tolist()]


def _within_system(breakdown: dict[str, Any]) -> bool:
    """Whether the engine scored the pair as two records of one master index."""
    step = breakdown.get("same_source")
    return isinstance(step, dict) and step.get("level") == "same_master_index"


def _str(v: Any) -> str | None:
    return None if v is None or v != v else str(v)


def _json(value: Any) -> str:
    # numpy scalars (from the engine's frames) have .item(); anything else is text
    return json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o))


async def flagged_persons(store: GraphStore) -> set[str]:
    """Persons with a safeguarding flag now."""
    return {r["person_id"] for r in await store.query("steward_flagged_persons")}


async def record_events(store: GraphStore, keys: Iterable[str]) -> dict[str, list[list[Any]]]:
    """Record key → its events ``[event_id, agency, is_concern]`` (batched reads)."""
    out: dict[str, list[list[Any]]] = {}
    todo = sorted(set(keys))
    for i in range(0, len(todo), _KEY_BATCH):
        for row in await store.query("linkage_review_record_events", keys=todo[i : i + _KEY_BATCH]):
            out[row["key"]] = [e for e in row["events"] if e and e[0]]
    return out


POSITIONS = {
    QueueOrder.CONSEQUENCE: "rank_pos",
    QueueOrder.PROBABILITY_ASC: "prob_pos",
    QueueOrder.PROBABILITY_DESC: "prob_desc_pos",
    QueueOrder.NEWEST: "new_pos",
}


#: The first queue position ever given (see `write_queue`).
FIRST_POSITION = 1


def assign_positions(rows: list[dict[str, Any]], created: dict[str, str], base: int) -> int:
    """Number the rows in each queue order, from `base` on; return the next free position.

    Positions are dense within a run and unique across runs (each run starts where
    the last ended), so a page is a bounded range of them.

    Args:
        rows: `queue_rows` output (changed in place).
        created: candidate id → when it was first queued (absent: new now).
        base: the first position to use.
    """
    keys: dict[QueueOrder, Callable[[dict[str, Any]], str]] = {
        QueueOrder.CONSEQUENCE: lambda r: rank_key(r["consequence"], r["candidate_id"]),
        QueueOrder.PROBABILITY_ASC: lambda r: prob_key(r["probability"], r["candidate_id"]),
        QueueOrder.PROBABILITY_DESC: lambda r: prob_desc_key(r["probability"], r["candidate_id"]),
        QueueOrder.NEWEST: lambda r: new_key(
            created.get(r["candidate_id"]) or r["at"], r["candidate_id"]
        ),
    }
    for order, key in keys.items():
        prop = POSITIONS[order]
        for n, row in enumerate(sorted(rows, key=key)):
            row[prop] = base + n
    return base + len(rows)


#: What a candidate's digest leaves out: the run and time that wrote it, its queue
#: positions (set apart, see `write_queue`) and its flagged mark (`refresh_flagged`).
_NOT_DIGESTED = frozenset({"run_id", "at", "flagged", "digest", *POSITIONS.values()})
#: Statuses the upsert reopens: a candidate in one of them is always written.
_REOPENED = frozenset({"stale", "closed", "settled"})


def row_digest(row: dict[str, Any]) -> str:
    """A hash of what a `queue_rows` row says beyond its run, positions and flag mark."""
    return content_digest(row, _NOT_DIGESTED)


def plan_queue_write(
    rows: list[dict[str, Any]],
    known: dict[str, dict[str, Any]],
    meta: dict[str, Any],
    run_id: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Decide what of a run's queue to write (CPU only; no store).

    A candidate listed twice keeps its last row. Each row gets its digest and positions.
    When the run's candidates, numbered from where the last numbering began, have
    exactly the positions the store holds, the numbering is kept (nothing is
    renumbered, the last numbering's run id stays on the candidates). Otherwise the
    queue is numbered afresh from the next free position (never below
    `FIRST_POSITION`), as a full rewrite would: an unchanged candidate then takes only
    its new positions. A candidate is written whole when it is new, its digest differs,
    a decision moved its persons since, or its status is one the upsert reopens.

    Args:
        rows: `queue_rows` output (changed in place: one row per candidate, each with
            its ``digest``, positions and run id).
        known: candidate id → what the store holds (`linkage_review_known` rows).
        meta: ``next_pos``, ``base_pos`` and ``run_id`` of the last numbering.
        run_id: this run.

    Returns:
        The rows to upsert, the rows to renumber only, and the numbering to record
        (``next_pos``, ``base_pos``, ``run_id``).
    """
    created = {c: str(k["created_at"]) for c, k in known.items() if k.get("created_at")}
    # A pair the engine lists twice (its scored edge and a relationship round's) is one
    # candidate: the last row is the one a write of every row would leave.
    last = {row["candidate_id"]: n for n, row in enumerate(rows)}
    if len(last) < len(rows):
        rows[:] = [row for n, row in enumerate(rows) if last[row["candidate_id"]] == n]
    for row in rows:
        row["digest"] = row_digest(row)
    # Positions start at 1: FalkorDB (4.22) drops the value 0 from a range index when it
    # loads the graph from a snapshot (an append-only-file rewrite: after a bulk load, or
    # Redis's own rewrite as the file grows), so a candidate at position 0 would vanish
    # from every queue page after a restart.
    next_pos = max(int(meta.get("next_pos") or 0), FIRST_POSITION)
    base = meta.get("base_pos")
    keep = False
    if (
        base is not None
        and int(base) >= FIRST_POSITION  # a numbering from 0 (older stores) is redone
        and meta.get("run_id")
        and next_pos - int(base) == len(rows)
    ):
        assign_positions(rows, created, int(base))
        keep = all(
            all(known.get(r["candidate_id"], {}).get(p) == r[p] for p in POSITIONS.values())
            for r in rows
        )
    if keep:
        numbering = {"next_pos": next_pos, "base_pos": int(base), "run_id": meta["run_id"]}
    else:
        end = assign_positions(rows, created, next_pos)
        numbering = {"next_pos": end, "base_pos": next_pos, "run_id": run_id}
    upsert: list[dict[str, Any]] = []
    renumber: list[dict[str, Any]] = []
    for row in rows:
        row["run_id"] = numbering["run_id"]
        k = known.get(row["candidate_id"])
        if (
            k is None
            or k.get("digest") != row["digest"]
            or k.get("status") in _REOPENED
            or k.get("person_a") != row["person_a"]
            or k.get("person_b") != row["person_b"]
        ):
            upsert.append(row)
        elif not keep:
            renumber.append({"candidate_id": row["candidate_id"], "run_id": row["run_id"]})
            renumber[-1].update({p: row[p] for p in POSITIONS.values()})
    return upsert, renumber, numbering


async def write_queue(
    store: GraphStore,
    review: pd.DataFrame,
    assignments: pd.DataFrame,
    mentions: pd.DataFrame,
    relationships: pd.DataFrame,
    names: Sequence[str],
    run_id: str,
    at: str,
) -> int:
    """Store the review queue of a linkage run; close candidates it no longer holds.

    Only what changed is written (`plan_queue_write`): a run that finds the queue as
    the store holds it writes nothing but the closing of candidates that left it.

    Returns:
        The number of candidates in the run's queue.
    """
    rows: list[dict[str, Any]] = []
    if not review.empty:
        person_s = persons_by_key(assignments)
        ends = [*review["key_a"], *review["key_b"]]
        involved = {p for p in persons_of(person_s, ends) if p is not None}
        pids = assignments["person_id"]
        keys = assignments["key"][pids.isin(involved).to_numpy()].tolist()
        events = await record_events(store, keys)
        flagged = await flagged_persons(store)
        rows = queue_rows(
            review, assignments, mentions, relationships, events, flagged, names, run_id, at
        )
    ids = [r["candidate_id"] for r in rows]
    known: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), _KEY_BATCH):
        for r in await store.query("linkage_review_known", ids=ids[i : i + _KEY_BATCH]):
            known[r["candidate_id"]] = r
    found = await store.query("linkage_review_positions")
    meta = dict(found[0]) if found else {}
    upsert, renumber, numbering = plan_queue_write(rows, known, meta, run_id)
    if upsert:
        await store.write_batches("linkage_review_upsert", upsert)
    if renumber:
        await store.write_batches("linkage_review_positions_set", renumber)
    if numbering != {k: meta.get(k) for k in numbering}:
        await store.query(
            "linkage_review_positions_record",
            next_pos=numbering["next_pos"],
            base_pos=numbering["base_pos"],
            run_id=numbering["run_id"],
        )
    # open candidates the numbering's run did not hold are closed
    await store.query("linkage_review_close_stale", run_id=numbering["run_id"])
    return len(rows)


async def refresh_flagged(store: GraphStore) -> int:
    """Mark queue items that involve a flagged person (run after the flags are computed).

    Only the marks that change are written.

    Returns:
        How many flagged persons there are.
    """
    flagged = await flagged_persons(store)
    rows = [
        {"candidate_id": r["candidate_id"], "flagged": want}
        for r in await store.query("steward_queue_flagged_marks")
        if (want := bool({r["person_a"], r["person_b"]} & flagged)) != bool(r["flagged"])
    ]
    if rows:
        await store.write_batches("steward_queue_flagged_mark", rows)
    return len(flagged)


# ------------------------------------------------------------------ reading pages
PAGE_QUERIES = {
    QueueOrder.CONSEQUENCE: "steward_queue_page_consequence",
    QueueOrder.PROBABILITY_ASC: "steward_queue_page_probability_asc",
    QueueOrder.PROBABILITY_DESC: "steward_queue_page_probability_desc",
    QueueOrder.NEWEST: "steward_queue_page_newest",
}


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which candidates a page shows (None: any)."""

    statuses: tuple[str, ...] = OPEN_STATUSES
    system: str | None = None
    reason: str | None = None
    min_probability: float = 0.0
    max_probability: float = 1.0
    flagged: bool | None = None
    # True: only pairs of two records of one system's own index (suspected duplicates
    # inside that system, a data-quality signal for the source agency); False: none
    within_system: bool | None = None


@dataclass(slots=True)
class QueuePage:
    """One page: its items (with their sort keys) and whether more follow."""

    items: list[QueueItem]
    has_next: bool


def _item(row: dict[str, Any], persons: dict[str, PersonSummary]) -> QueueItem:
    c = row["candidate"]
    weight = float(c.get("weight") or 0.0)
    prob = float(c.get("probability") or weight_probability(weight))
    steps = [WaterfallStep(str(a), str(b), float(x), float(y)) for a, b, x, y in _loads(c, "steps")]
    pa, pb = persons.get(row["person_a"] or ""), persons.get(row["person_b"] or "")
    return QueueItem(
        candidate_id=str(c["candidate_id"]),
        version=int(c.get("version") or 0),
        status=str(c.get("status") or "open"),
        key_a=str(c["key_a"]),
        key_b=str(c["key_b"]),
        probability=prob,
        weight=weight,
        record_a=dict(row["record_a"]),
        record_b=dict(row["record_b"]),
        person_a=pa,
        person_b=pb,
        prior=float(c.get("prior") or 0.0),
        steps=steps,
        impact=impact_of(pa, pb),
        consequence=float(c.get("consequence") or 0.0),
        created_at=c.get("created_at"),
        reason=str(c.get("reason") or UNCERTAIN),
        stale=bool(row.get("stale")),
        flagged=bool(c.get("flagged")),
        within_system=c.get("within_system"),
        sort_key="" if row.get("position") is None else str(int(row["position"])),
    )


def _loads(c: dict[str, Any], name: str) -> list[Any]:
    text = c.get(name)
    return json.loads(text) if text else []


def build_items(
    rows: list[dict[str, Any]], stats: list[dict[str, Any]], today: date
) -> list[QueueItem]:
    """Queue items from page rows and the person stats of their persons (CPU only)."""
    persons = {s["person_id"]: PersonSummary.from_row(s, today) for s in stats}
    out = []
    for r in rows:
        check_cancelled()  # in a worker pool: stop when the request is gone
        out.append(_item(r, persons))
    return out


CpuRunner = Callable[..., Awaitable[Any]]


async def _inline[T](fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


async def queue_page(
    store: GraphStore,
    *,
    first: int,
    after: str = "",
    order: QueueOrder = QueueOrder.CONSEQUENCE,
    filters: QueueFilter | None = None,
    today: date | None = None,
    run_cpu: CpuRunner | None = None,
) -> QueuePage:
    """One page of the stored queue: the `first` items after position `after`.

    Each read is a bounded range of the order's indexed positions, widened (×4) until
    the page is full or the queue ends, so a page costs about the same at any queue
    length; then one read of the page's persons' stats.

    Args:
        store: a started store.
        first: page size.
        after: the position (as text) of the last item of the previous page ("" for
            the first page).
        order: the queue order.
        filters: which candidates (default: open ones).
        today: the date ages are computed at.
        run_cpu: runs the CPU part (``await run_cpu(fn, *args)``), e.g. in a worker
            pool; default inline.

    Raises:
        ValueError: `after` is not a position.
    """
    filters = filters or QueueFilter()
    lo = int(after) if after else -1
    found = await store.query("linkage_review_positions")
    end = int((found[0]["next_pos"] if found else None) or 0)
    window = max(4 * (first + 1), 64)
    rows: list[dict[str, Any]] = []
    while len(rows) <= first and lo < end:
        hi = lo + window
        rows.extend(
            await store.query(
                PAGE_QUERIES[order],
                after=lo,
                upto=hi,
                limit=first + 1 - len(rows),
                statuses=list(filters.statuses),
                system=filters.system,
                reason=filters.reason,
                min_probability=float(filters.min_probability),
                max_probability=float(filters.max_probability),
                flagged=filters.flagged,
                within_system=filters.within_system,
            )
        )
        lo, window = hi, window * 4
    has_next = len(rows) > first
    rows = rows[:first]
    pids = sorted({p for r in rows for p in (r["person_a"], r["person_b"]) if p})
    stats = await store.query("steward_person_stats", ids=pids) if pids else []
    items = await (run_cpu or _inline)(build_items, rows, stats, today or date.today())
    return QueuePage(items=items, has_next=has_next)


async def queue_count(store: GraphStore, filters: QueueFilter | None = None) -> int:
    """How many candidates match the filters."""
    f = filters or QueueFilter()
    rows = await store.query(
        "steward_queue_count",
        statuses=list(f.statuses),
        system=f.system,
        reason=f.reason,
        min_probability=float(f.min_probability),
        max_probability=float(f.max_probability),
        flagged=f.flagged,
        within_system=f.within_system,
    )
    return int(rows[0]["total"]) if rows else 0


async def candidate_item(store: GraphStore, candidate_id: str) -> QueueItem | None:
    """One candidate as a queue item (any status), or None."""
    rows = await store.query("steward_candidate_get", candidate_id=candidate_id)
    if not rows:
        return None
    row = rows[0]
    pids = sorted({p for p in (row["person_a"], row["person_b"]) if p})
    stats = await store.query("steward_person_stats", ids=pids) if pids else []
    return build_items([row], stats, date.today())[0]


async def load_queue(
    store: GraphStore,
    *,
    order: QueueOrder = QueueOrder.CONSEQUENCE,
    filters: QueueFilter | None = None,
    page_size: int = 100,
) -> list[QueueItem]:
    """Every item of the queue, page by page (small queues and tests only)."""
    out: list[QueueItem] = []
    after = ""
    while True:
        page = await queue_page(store, first=page_size, after=after, order=order, filters=filters)
        out.extend(page.items)
        if not page.has_next or not page.items:
            return out
        after = page.items[-1].sort_key
