"""The review queue: uncertain pairs, most consequential first, ready to show.

For each candidate: both records as recorded, the weight waterfall (prior, then each
comparison's contribution, to the final weight), the persons each record resolves to
now (the other record would join them), and what accepting the match would change.

Consequence comes first because a steward's time is short: a match that would put
a child into a household, or an adult with a police or prison history into a
child's network, outranks one that tidies up two health records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

from cpgraph.linkage.model import probability as weight_probability
from cpgraph.linkage.spec import load_spec
from cpgraph.steward.service import id_order
from cpgraph.store import GraphStore

ADULT_AGE = 18
POLICE_AGENCIES = frozenset({"police", "prisons"})
OPEN_STATUSES = ("open",)
_REVERSE_DIGITS = str.maketrans("0123456789", "9876543210")


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


def waterfall(breakdown: dict[str, Any] | None, final: float) -> tuple[float, list[WaterfallStep]]:
    """Ordered contributions from the prior to the final weight.

    The prior comes first, then the spec's comparisons in order, then anything else
    the breakdown carries (relationship anchor); a last ``adjustment`` step closes any
    gap to the stored weight (rounding, household guard).
    """
    bd = dict(breakdown or {})
    prior = float((bd.pop("prior", None) or {}).get("weight", 0.0))
    order = [n for n in load_spec().names if n in bd] + sorted(
        n for n in bd if n not in load_spec().names
    )
    steps = [WaterfallStep("prior", "prior", round(prior, 3), round(prior, 3))]
    total = prior
    for name in order:
        item = bd[name] or {}
        w = float(item.get("weight", 0.0))
        total += w
        steps.append(WaterfallStep(name, str(item.get("level", "")), round(w, 3), round(total, 3)))
    gap = final - total
    if abs(gap) > 0.01:
        steps.append(WaterfallStep("adjustment", "other", round(gap, 3), round(final, 3)))
    return prior, steps


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


async def load_queue(
    store: GraphStore,
    *,
    statuses: tuple[str, ...] = OPEN_STATUSES,
    ids: list[str] | None = None,
    order: QueueOrder = QueueOrder.CONSEQUENCE,
    today: date | None = None,
) -> list[QueueItem]:
    """Every candidate with one of `statuses` (or the given ids), ordered.

    Candidates whose two records already resolve to one person are left out (a
    merge decided elsewhere settled them).
    """
    today = today or date.today()
    rows = await store.query("steward_candidates", ids=list(ids or []), statuses=list(statuses))
    pids = sorted({p for r in rows for p in (r["person_a"], r["person_b"]) if p})
    stats = await store.query("steward_person_stats", ids=pids) if pids else []
    persons = {s["person_id"]: PersonSummary.from_row(s, today) for s in stats}
    items = []
    for r in rows:
        c = r["candidate"]
        if not ids and r["person_a"] and r["person_a"] == r["person_b"]:
            continue
        weight = float(c.get("weight") or 0.0)
        prob = float(c.get("probability") or weight_probability(weight))
        bd = json.loads(c["breakdown"]) if c.get("breakdown") else {}
        prior, steps = waterfall(bd, weight)
        pa, pb = persons.get(r["person_a"] or ""), persons.get(r["person_b"] or "")
        imp = impact_of(pa, pb)
        items.append(
            QueueItem(
                candidate_id=str(c["candidate_id"]),
                version=int(c.get("version") or 0),
                status=str(c.get("status") or "open"),
                key_a=str(c["key_a"]),
                key_b=str(c["key_b"]),
                probability=prob,
                weight=weight,
                record_a=dict(r["record_a"]),
                record_b=dict(r["record_b"]),
                person_a=pa,
                person_b=pb,
                prior=prior,
                steps=steps,
                impact=imp,
                consequence=consequence(imp, prob),
                created_at=c.get("created_at"),
            )
        )
    return sort_queue(items, order)


def sort_key(item: QueueItem, order: QueueOrder) -> str:
    """A unique, ascending sort key (also the cursor key)."""
    if order is QueueOrder.CONSEQUENCE:
        primary = f"{1e6 - item.consequence:014.4f}"
    elif order is QueueOrder.PROBABILITY_ASC:
        primary = f"{item.probability:.6f}"
    elif order is QueueOrder.PROBABILITY_DESC:
        primary = f"{1.0 - item.probability:.6f}"
    else:
        # ISO stamps of one format: swapping each digit for 9 - digit reverses the order
        primary = (item.created_at or "").translate(_REVERSE_DIGITS) or "~"
    return f"{primary}|{item.candidate_id}"


def sort_queue(items: list[QueueItem], order: QueueOrder) -> list[QueueItem]:
    """Items sorted by `sort_key`."""
    return sorted(items, key=lambda it: sort_key(it, order))
