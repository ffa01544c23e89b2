"""Suspected duplicates inside one agency's own index: a data-quality report for the
source agency (``cpgraph export duplicates``).

Two kinds of row: pairs linkage (or a steward) resolved to one person although both
records are in one system's index (``linked``: the agency holds one person twice), and
pairs linkage left to a steward (``possible`` / ``deferred``: the agency should check).
Rows carry record keys, probabilities and reasons, never names or dates of birth: the
agency looks its own records up.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from cpgraph.store import GraphStore

COLUMNS = ("system", "record_a", "record_b", "status", "probability", "reasons")
POSSIBLE_STATUSES = ("open", "deferred")


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    """One suspected duplicate pair of one system's index."""

    system: str
    record_a: str
    record_b: str
    status: str  # linked | possible | deferred
    probability: float
    reasons: tuple[str, ...]


async def system_duplicates(
    store: GraphStore, system: str, master_kinds: Sequence[str]
) -> list[DuplicatePair]:
    """Every suspected duplicate pair inside ``system``'s own index.

    Args:
        store: the graph store.
        system: the source system (e.g. ``wmp-niche``).
        master_kinds: the record kinds that make up a system's index (the linkage
            spec's ``[sources] master_kinds``).

    Returns:
        Linked pairs first, then the possible ones, each in record-key order.
    """
    out: list[DuplicatePair] = []
    for r in await store.query(
        "steward_duplicates_linked", system=system, kinds=list(master_kinds)
    ):
        pa, pb = r["probability_a"], r["probability_b"]
        probs = [float(p) for p in (pa, pb) if p is not None]
        methods = sorted({str(m) for m in (r["method_a"], r["method_b"]) if m})
        out.append(
            DuplicatePair(
                system=system,
                record_a=r["record_a"],
                record_b=r["record_b"],
                status="linked",
                # the weaker of the two records' links to the person they share
                probability=min(probs) if probs else 1.0,
                reasons=tuple(f"linked:{m}" for m in methods),
            )
        )
    for r in await store.query(
        "steward_duplicates_possible", system=system, statuses=list(POSSIBLE_STATUSES)
    ):
        evidence = tuple(f"evidence:{e}" for e in (r["evidence"] or ()))
        out.append(
            DuplicatePair(
                system=system,
                record_a=r["record_a"],
                record_b=r["record_b"],
                status="possible" if r["status"] == "open" else str(r["status"]),
                probability=float(r["probability"] or 0.0),
                reasons=(f"kept_apart:{r['reason']}", *evidence),
            )
        )
    return out


def duplicates_csv(pairs: Sequence[DuplicatePair]) -> str:
    """The report as CSV text (header + one row per pair)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for p in pairs:
        w.writerow(
            [
                p.system,
                p.record_a,
                p.record_b,
                p.status,
                f"{p.probability:.6f}",
                ";".join(p.reasons),
            ]
        )
    return buf.getvalue()
