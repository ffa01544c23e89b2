"""What each stage of a linkage run hands the next: typed results, and the edge tables.

:class:`~cpgraph.linkage.engine.LinkageEngine` runs the stages (prepare → score → steward
→ cluster → cohesion → assign); :mod:`cpgraph.linkage.incremental` re-clusters only the
region a delta reaches from the same results; :mod:`cpgraph.linkage.distributed` makes
the score stage's result on a Dask cluster. Kept apart from all three so each imports
the types without importing the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpgraph.linkage.clustering import PRIORITY_SCORED
from cpgraph.linkage.comparisons import Comparer, NamePairs
from cpgraph.linkage.model import Model
from cpgraph.linkage.scoring import Scorer


@dataclass
class LinkState:
    """What a run leaves for the next incremental run (store it beside the graph).

    Attributes:
        model: the fitted model (``Model.to_dict()`` is JSON-serialisable).
        edges: scored pairs kept (above review, deterministic or cannot-link), by key.
        fingerprints: key → hash of the mention's linkage columns.
        written: key → hash of the resolution the service last wrote for the mention
            (person, display name, probability, method, status, breakdown); None when
            unknown. An incremental run writes only the mentions whose hash changed.
        cannot: compared pairs kept only as cannot-links (not in ``edges``): ``a, b``
            (int32 positions in ``fingerprints``' index) and ``weight``; None when every
            kept pair is in ``edges`` (a state written before they were kept apart).
        scope: what the next run needs to re-cluster only the region its delta reaches
            (arrays by name; positions in ``fingerprints``' index: see
            :func:`cpgraph.linkage.incremental.scope_state`); None: the next run
            clusters everything.
        cannot_files: see below.
    """

    model: Model
    edges: pd.DataFrame
    fingerprints: pd.Series
    written: pd.Series | None = None
    cannot: pd.DataFrame | None = None
    scope: dict[str, np.ndarray] | None = None
    #: column of ``cannot`` → the ``.npy`` file it is mapped from, when the run spilled
    #: its cannot-links to disk (`LinkageEngine`'s ``spill_dir``): the state's writer
    #: copies the files, and whoever saved the state deletes them
    #: (:func:`cpgraph.linkage.engine.remove_spill`)
    cannot_files: dict[str, Path] | None = None


@dataclass
class EngineResult:
    """Outcome of a linkage run.

    Attributes:
        assignments: one row per mention: ``key, person_id, method, probability, status,
            partner_key, breakdown`` (``breakdown``: comparison → {level, weight} of the
            best supporting pair; None for singletons).
        review: pairs between the review and auto thresholds in different persons:
            ``key_a, key_b, probability, weight, breakdown``.
        retired_ids: person ids held before and merged away or emptied.
        summary: counts (mentions, persons, links by method, review queue, ...).
        model: the model used.
        state: input for the next incremental run.
        region: per mention (``assignments``' order), whether this run re-clustered it;
            None when it clustered everything. Outside the region every resolution is the
            previous run's.
    """

    assignments: pd.DataFrame
    review: pd.DataFrame
    retired_ids: list[str]
    summary: dict[str, Any]
    model: Model
    state: LinkState
    timings: dict[str, float] = field(default_factory=dict)
    region: np.ndarray | None = None


@dataclass
class Prepared:
    """Standardised records and what relationships add to them."""

    s: pd.DataFrame
    vtable: pd.DataFrame
    comparer: Comparer
    pos: pd.Series
    rels: pd.DataFrame | None
    year_lo: np.ndarray | None
    year_hi: np.ndarray | None
    stated_i: np.ndarray
    stated_j: np.ndarray
    name_pairs: NamePairs = ()
    fp_extra: list[np.ndarray] = field(default_factory=list)
    places: np.ndarray | None = None  # place-gate code per record (-1 unknown), if gated
    weak: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # name-only
    # 22-within11: records taken out as ambiguous (dated, placeless, one index), if any
    ambiguous: np.ndarray | None = None


@dataclass
class Edges:
    i: np.ndarray
    j: np.ndarray
    weight: np.ndarray
    prob: np.ndarray
    method: np.ndarray
    priority: np.ndarray
    cannot: np.ndarray
    levels: np.ndarray
    comp_w: np.ndarray
    # int8: a reviewable guard keeps the pair apart (1 + its index in the spec's
    # `guard_reviewable`; 0: none); only on cannot-links scored at or above `review`
    kept: np.ndarray

    @classmethod
    def empty(cls, nc: int) -> Edges:
        z = np.empty(0, np.int64)
        return cls(
            z,
            z,
            np.empty(0),
            np.empty(0),
            np.empty(0, object),
            z,
            np.empty(0, bool),
            np.empty((0, nc), np.int8),
            np.empty((0, nc), np.float32),
            np.empty(0, np.int8),
        )

    def take(self, mask: np.ndarray) -> Edges:
        return Edges(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))

    @staticmethod
    def concat(
        parts: list[Edges],
        *,
        views: Sequence[tuple[Edges, int]] = (),
        consume: Sequence[Edges] = (),
    ) -> Edges:
        """One table of ``parts``, made a column at a time.

        Each ``(owner, at)`` of ``views`` has its columns (``cannot`` and ``kept``
        excepted: the cluster stage marks age clashes on a copy of those) made views of
        the result from row ``at`` as each column is copied, and each table of
        ``consume`` has its columns emptied: the column they held is freed before the
        next one is made, so a table and its concatenation are not both held whole
        (the kept edges are ~100 bytes each, 1.35M at 1.29M mentions).
        """
        out = {}
        for f in Edges.__dataclass_fields__:
            col = np.concatenate([getattr(p, f) for p in parts])
            out[f] = col
            if f not in ("cannot", "kept"):
                for owner, at in views:
                    setattr(owner, f, col[at : at + len(owner.i)])
            for c in consume:
                old = getattr(c, f)
                setattr(c, f, old[:0].copy())  # (a view would keep the column)
        return Edges(**out)


@dataclass
class CannotLinks:
    """Compared pairs kept only as cannot-links, in 16 bytes each.

    Most kept pairs of a large run are cannot-links (a common name's block holds many
    people with different identifiers) and their number grows with the square of a name
    block's size: as full :class:`Edges` (levels, weights, method) they cost ~100 bytes
    each. Clustering reads only their two ends, and cohesion their weight (as direct
    evidence of a pair); a scored pair that is a cannot-link is never deterministic.
    """

    i: np.ndarray  # int32 record positions
    j: np.ndarray
    weight: np.ndarray  # float64

    @classmethod
    def empty(cls) -> CannotLinks:
        z = np.empty(0, np.int32)
        return cls(z, z, np.empty(0))

    def __len__(self) -> int:
        return len(self.i)

    @staticmethod
    def concat(parts: list[CannotLinks], consume: bool = False) -> CannotLinks:
        """One table of ``parts``; ``consume``: empty each part's column once it is copied
        (a run's parts and their concatenation are never all held at once)."""
        if not parts:
            return CannotLinks.empty()
        out = []
        for f in ("i", "j", "weight"):
            out.append(np.concatenate([getattr(p, f) for p in parts]))
            if consume:
                for p in parts:
                    setattr(p, f, np.empty(0, getattr(p, f).dtype))  # (a view would keep it)
        return CannotLinks(*out)


def split_cannot(e: Edges) -> tuple[Edges, CannotLinks]:
    """Scored cannot-links out of ``e`` into the compact form; the rest keeps its order.

    A pair a reviewable guard keeps apart stays a full edge: it is a possible match.
    """
    c = e.cannot & (e.priority == PRIORITY_SCORED) & (e.kept == 0)
    if not c.any():
        return e, CannotLinks.empty()
    cl = CannotLinks(e.i[c].astype(np.int32), e.j[c].astype(np.int32), e.weight[c].copy())
    return e.take(~c), cl


def cannot_pairs(
    edges: Edges, cl: CannotLinks, *more: tuple[np.ndarray, np.ndarray]
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Every machine cannot-link's two ends: ``edges``' flagged ones, ``cl`` and ``more``,
    as parts in that order (:func:`~cpgraph.linkage.clustering.cannot_parts`).

    ``cl`` is a part as it is: there can be tens of millions, and a round that copied them
    into one array held a second copy. Int32 (record positions): they are only used to
    index per-record arrays, never multiplied into pair codes themselves.
    """
    cann = edges.cannot
    z = np.empty(0, np.int32)
    mi = np.concatenate([z, *(m[0] for m in more)], dtype=np.int32)
    mj = np.concatenate([z, *(m[1] for m in more)], dtype=np.int32)
    ci = (edges.i[cann].astype(np.int32), cl.i, mi)
    cj = (edges.j[cann].astype(np.int32), cl.j, mj)
    return ci, cj


@dataclass
class PrepareResult:
    """Stage ``prepare``: the records ready to compare, their fingerprints and the model
    (or ``training``, waiting on a forked trainer)."""

    prep: Prepared
    fingerprints: pd.Series
    model: Model | None
    training: Callable[[], Model] | None = None


@dataclass
class ScoreResult:
    """Stage ``score``: the kept edges of every candidate pair, and what scored them."""

    base: Edges
    model: Model
    scorer: Scorer
    changed: np.ndarray  # per record: new or changed since the state's run
    compared: int  # candidate pairs compared in this run
    cannot: CannotLinks = field(default_factory=CannotLinks.empty)  # not in ``base``


@dataclass
class Decisions:
    """Stage ``steward``: LINK edges (always win) and NO_LINK pairs (record positions)."""

    links: Edges
    cannot: np.ndarray  # (k, 2)


@dataclass
class ClusterResult:
    """Stage ``cluster``: labels per record and the edges (relationship ones included)."""

    labels: np.ndarray
    edges: Edges
    rel_edges: Edges
    rel_bonus: np.ndarray
