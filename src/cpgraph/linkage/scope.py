"""The region of records an incremental run has to re-cluster (issue #16 item 2).

Clustering (with its relationship rounds, the place gate, the ambiguity and cohesion
steps) decides a record's person from what it can *interact* with: the link-capable
edges (scored at ``auto`` or above, deterministic, steward LINKs), its stated
relationships (anchors, households, year bounds, implied sex, kin), and, through a
relationship round's household pairs, records at one of its component's postcodes with
its initials. Records that cannot interact with a changed one come out of a full run
exactly as they did last time. A cannot-link is not an interaction: it can only refuse
a join between two records some chain of link-capable edges connects, i.e. two records
of one component; between components it never matters (the review-level edges are
outputs of clustering, not inputs).

:func:`seeds` marks what a delta touches (new and changed records, their neighbours
and groups in the last run, changed relationships and steward decisions, persons the
store holds otherwise than the last run left them); :func:`region` closes them over the
interactions. The engine re-clusters the region alone and keeps the rest's persons; it
checks afterwards that nothing it found crosses the region's edge, and clusters in full
when the check fails or the region is most of the records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cpgraph.linkage.arrays import isin, unique_sorted
from cpgraph.linkage.clustering import connected_components

#: Above this share of the records in the region, clustering everything costs little more.
MAX_REGION = 0.6
# (a closure of household pairs that grows for this many rounds is pathological: full run)
MAX_ROUNDS = 50


def group_columns(s: pd.DataFrame) -> list[str]:
    """The standardised columns whose shared values tie records together beyond their own
    pairs: the postcode (household pairs, the alias home check, block sizes) and every
    identifier (whether a record is name-only depends on another record sharing it)."""
    return ["pc"] + sorted(c for c in s.columns if c.startswith("id_"))


def value_hashes(values: np.ndarray) -> np.ndarray:
    """A uint64 hash per value; 0 where missing (missing values tie nobody together)."""
    v = np.asarray(values, dtype=object)
    miss = pd.isna(v)
    out = pd.util.hash_array(v).astype(np.uint64)
    out[out == 0] = np.uint64(1)  # (a real value never reads as missing)
    out[miss] = np.uint64(0)
    return out


def group_hashes(s: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Per record (rows) and group column (columns), the hash of its value."""
    n = len(s)
    out = np.zeros((n, len(columns)), np.uint64)
    for k, c in enumerate(columns):
        if c in s.columns:
            out[:, k] = value_hashes(s[c].to_numpy(object))
    return out


def row_hashes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """A uint64 hash per row of ``frame``'s ``columns`` (relationships, decisions)."""
    if frame.empty:
        return np.empty(0, np.uint64)
    part = frame[columns].astype(object).where(frame[columns].notna(), None)
    return pd.util.hash_pandas_object(part, index=False).to_numpy(np.uint64)


def members(groups: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """Records whose value (``groups``, one column) is among ``hit`` (0: never)."""
    hit = unique_sorted(hit[hit != 0])
    if not len(hit):
        return np.zeros(len(groups), bool)
    return isin(groups, hit)


def partition_mismatch(old: np.ndarray, now: np.ndarray) -> np.ndarray:
    """Records whose group differs between two partitions (``-1``: no group).

    A record is flagged when its old group's members are not all in one new group, or its
    new group's members not all in one old group, or it has no group in either.
    """
    n = len(old)
    bad = (old < 0) | (now < 0)
    if n == 0:
        return bad
    d = pd.DataFrame({"o": old, "n": now})
    bad |= (d.groupby("o")["n"].transform("nunique").to_numpy() > 1) & (old >= 0)
    bad |= (d.groupby("n")["o"].transform("nunique").to_numpy() > 1) & (now >= 0)
    return bad


@dataclass
class Region:
    """The records to re-cluster (``mask``) and why a run cannot be scoped (``reason``)."""

    mask: np.ndarray | None
    reason: str = ""
    rounds: int = 0

    @property
    def ok(self) -> bool:
        return self.mask is not None


def region(
    n: int,
    seeds: np.ndarray,
    ei: np.ndarray,
    ej: np.ndarray,
    pc: np.ndarray,
    initials: np.ndarray,
    rel_ends: np.ndarray,
    max_share: float = MAX_REGION,
) -> Region:
    """Close ``seeds`` over the interactions clustering reads.

    Args:
        n: number of records.
        seeds: boolean per record: touched by the delta (see the module).
        ei, ej: interaction edges (link-capable pairs, steward LINKs, stated
            relationships, members of one previous person, last run's relationship
            links).
        pc: postcode code per record (``-1``: none, or a postcode held by more records
            than a block may hold: such a postcode forms no household pair).
        initials: code of the surname and forename initials per record (``-1``: either
            unknown): a household pair needs both to agree.
        rel_ends: records at an end of a stated relationship (a household pair's relative).
        max_share: give up (``mask`` None) once the region holds more of the records.

    Returns:
        The :class:`Region`: every record a full clustering could decide differently from
        the last run holds ``mask`` True.
    """
    limit = max_share * n
    if seeds.sum() > limit:
        return Region(None, "delta too large")
    comp = connected_components(n, np.asarray(ei, np.int64), np.asarray(ej, np.int64))
    inside = isin(comp, unique_sorted(comp[seeds]))
    # household pairs: a relative in the region and any record at one of its component's
    # postcodes with its initials (the anchor's person lies in its component)
    at = pd.DataFrame({"pc": pc, "ini": initials, "y": np.arange(n)})
    at = at[(pc >= 0) & (initials >= 0)]
    rounds = 0
    while True:
        if inside.sum() > limit:
            return Region(None, "region too large", rounds)
        rounds += 1
        if rounds > MAX_ROUNDS:
            return Region(None, "household closure does not settle", rounds)
        recs = np.flatnonzero(rel_ends & inside & (initials >= 0))
        placed = np.flatnonzero(inside & (pc >= 0))
        if not len(recs) or not len(placed):
            break
        # Joined from the records at the region's postcodes, then kept where their
        # initials are a relative's of that component: a component's relatives against
        # its postcodes first grew with the square of a large component (a 1% delta at
        # 1.29M mentions ran out of memory here). One relative per (component, initials)
        # stands for the others: they are connected already, so the closure is the same.
        cp = pd.DataFrame({"c": comp[placed], "pc": pc[placed]}).drop_duplicates()
        rc = pd.DataFrame({"rec": recs, "c": comp[recs], "ini": initials[recs]})
        rc = rc.drop_duplicates(["c", "ini"])
        m = at[isin(at["pc"].to_numpy(), unique_sorted(cp["pc"].to_numpy()))]
        m = m.merge(cp, on="pc").merge(rc, on=["c", "ini"])
        y = m["y"].to_numpy(np.int64)
        new = ~inside[y] | (comp[y] != m["c"].to_numpy(np.int64))
        if not new.any():
            break
        # the new pairs join whole components: only they are clustered again, on the
        # components' labels (each the smallest position of its component, as a pass
        # over every edge would give; that pass per round was most of the closure's time)
        comp = connected_components(n, comp[m["rec"].to_numpy(np.int64)[new]], comp[y[new]])[comp]
        inside = isin(comp, unique_sorted(comp[seeds]))
    return Region(inside, "", rounds)
