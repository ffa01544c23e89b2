"""The linkage engine: a pure library over pandas DataFrames (no database access).

Stages: standardise → block → compare → score (deterministic rules, Fellegi–Sunter,
guards) → constrained clustering → relationship-aware rounds → cohesion split → stable
ids.  :meth:`LinkageEngine.link` returns an :class:`EngineResult` whose ``state`` is fed
back to the next run for incremental linkage (only new or changed mentions compared).

The stages' typed results live in :mod:`cpgraph.linkage.stages`; re-clustering only the
region a delta reaches is :mod:`cpgraph.linkage.incremental`.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

from cpgraph.files import write_private
from cpgraph.linkage import incremental, reasons
from cpgraph.linkage.arrays import isin, unique_sorted
from cpgraph.linkage.blocking import (
    delta_pairs,
    delta_plan,
    pair_plan,
    range_pairs,
    rule_blocks,
    variant_block_table,
)
from cpgraph.linkage.clustering import (
    PRIORITY_DETERMINISTIC,
    PRIORITY_SCORED,
    PRIORITY_STEWARD,
    Ends,
    GenerationGuard,
    PlaceGate,
    assign_ids,
    cannot_count,
    canonical_labels,
    constrained_components,
    corroborated_place_pairs,
    detach_ambiguous,
    household_ids,
    kept_apart,
    same_label,
    split_incohesive,
)
from cpgraph.linkage.comparisons import (
    Comparer,
    NamePairs,
    PairLevels,
    decade_slip,
    master_index_codes,
)
from cpgraph.linkage.explain import Explanation, explain_scored
from cpgraph.linkage.forking import (
    can_fork,
    comparison_threads,
    in_fork,
    in_process,
    release_free_memory,
)
from cpgraph.linkage.model import Model, fit, weight_for_probability
from cpgraph.linkage.relationships import (
    Positions,
    anchor_pairs,
    anchors,
    home_places,
    household_postcodes,
    implied_sex,
    kin_namesake_places,
    kin_table,
    resolve_positions,
    share_kin,
    stated_pairs,
    unique_role_pairs,
    unique_role_placed,
    year_bounds,
)
from cpgraph.linkage.scoring import (
    RuleOutcome,
    ScoredPairs,
    Scorer,
    same_source_weights,
    search_miss,
    untraced,
)
from cpgraph.linkage.spec import Spec, load_spec
from cpgraph.linkage.stages import (
    CannotLinks,
    ClusterResult,
    Decisions,
    Edges,
    EngineResult,
    LinkState,
    Prepared,
    PrepareResult,
    ScoreResult,
    cannot_pairs,
    split_cannot,
)
from cpgraph.linkage.standardise import fingerprint, name_variants, standardise
from cpgraph.linkage.variants import learn_name_variants

STEWARD_WEIGHT = 100.0
DETERMINISTIC_WEIGHT = 60.0
# Why a review pair was kept apart when clustering did not decide it (see `_review`).
REVIEW_UNCERTAIN = reasons.UNCERTAIN
# ...and why a pair of one master index scored below `review` is queued all the same
# (the spec's `within_index_review`): a suspected duplicate for the source agency.
REVIEW_WITHIN_INDEX = reasons.WITHIN_INDEX


# why a relationship round proposes a pair: one of a child's two "mother" mentions, two
# mentions in one stated relationship to one person, a relative looked for at her
# anchor's address (without one of her own, or after a move)
_REL_UNIQUE, _REL_ANCHOR, _REL_HOUSEHOLD, _REL_MOVED = 0, 1, 2, 3

#: Cannot-links from which a run with a ``spill_dir`` moves them to disk once clustered.
SPILL_MIN = 1_000_000
#: The name of every spill file begins so (any left by a killed run can be found).
SPILL_PREFIX = ".spill-"
PARALLEL_MIN = 50_000  # below this many mentions, starting a process costs more than it saves
# pairs scored at a time: bounds the memory of one step (~300 bytes of comparison and
# score temporaries per pair, in the parent and in a forked scorer alike; 1M was the
# score stage's peak at 1.29M mentions once the cluster stage no longer was)
SCORE_CHUNK = 500_000
# relationship candidates scored at a time (the same temporaries per pair)
REL_CHUNK = 250_000
# pairs within clusters scored at a time by the cohesion check (the same temporaries per
# pair: it asks about every within-cluster pair of the run at once, millions at 1M)
COHESION_CHUNK = 250_000
# best edges whose weight breakdowns are made at a time (`LinkageEngine._bds`)
BREAKDOWN_CHUNK = 50_000


class _Clusterer:
    """Constrained clustering of a run's edges, with the place gate when the spec has one.

    The place pairs a household's move corroborates are found once, from the first
    (ungated) clustering: later rounds only add name-only relatives.
    """

    def __init__(
        self,
        engine: LinkageEngine,
        prep: Prepared,
        steward_cannot: np.ndarray,
        cannot: CannotLinks | None = None,
    ):
        self.engine = engine
        self.spec = engine.spec
        self.prep = prep
        self.sc = steward_cannot
        self.cl = cannot if cannot is not None else CannotLinks.empty()
        self.kin = kin_table(prep.s, prep.rels) if prep.places is not None else None
        self.corroborated: set[Any] | None = None
        self.household: np.ndarray | None = None
        # own_surname setting -> where each record's relatives' full names are recorded
        self._seen_by: dict[int, tuple[np.ndarray | None, np.ndarray | None]] = {}

    def __call__(self, edges: Edges, prev: np.ndarray | None = None) -> np.ndarray:
        """Cluster labels per record (``prev``: the previous round's, for relatives)."""
        spec, prep, sc = self.spec, self.prep, self.sc
        si, sj = prep.stated_i, prep.stated_j
        link = ~edges.cannot & ((edges.priority < PRIORITY_SCORED) | (edges.prob >= spec.auto))
        if prep.places is not None and spec.index_move_kin_ignores:
            link |= self._index_moves(edges, prev)
        ci, cj = cannot_pairs(edges, self.cl, (si, sj), (sc[:, 0], sc[:, 1]))
        # steward NO_LINKs are the last part's last ones (a view of False for the rest)
        cs = (
            np.zeros(len(ci[0]), bool),
            np.broadcast_to(np.False_, len(ci[1])),
            np.concatenate([np.zeros(len(si), bool), np.ones(len(sc), bool)]),
        )
        args = (
            len(prep.s),
            edges.i[link],
            edges.j[link],
            edges.weight[link],
            edges.priority[link],
            ci,
            cj,
            cs,
        )
        guard = None
        if spec.rel_generation_guard > 0:
            # (the relationship rounds' links: they join records never compared)
            rel = pd.Series(edges.method[link], dtype=object).str.startswith("relationship")
            guard = GenerationGuard(
                prep.s["dob_y"].to_numpy(np.int64),
                rel.to_numpy(bool),
                spec.rel_generation_guard,
            )
        places = prep.places
        if places is None:
            return constrained_components(*args, years=guard)[0]
        if self.corroborated is None:
            # a sector pair two people of one household span in the first, ungated
            # clustering is the household's move
            lab0, _ = constrained_components(*args)
            if spec.corroborate_within_household and prep.rels is not None:
                self.household = household_ids(
                    lab0,
                    prep.rels["from_pos"].to_numpy(np.int64),
                    prep.rels["to_pos"].to_numpy(np.int64),
                )
            self.corroborated = corroborated_place_pairs(
                lab0, places, spec.place_corroboration, household=self.household
            )
        i, j = edges.i[link], edges.j[link]
        gated = edges.priority[link] == PRIORITY_SCORED
        # a full-name (middle names included) and date-of-birth match is stronger
        # evidence than a namesake can produce: the gate yields to it
        if spec.gate_yields_to:
            ks = [spec.names.index(name) for name in spec.gate_yields_to]
            lv = edges.levels[link]
            full = np.all(lv[:, ks] == 0, axis=1)
            if "dob" in spec.gate_yields_to and spec.gate_yields_dob_levels != ("exact",):
                # spec v14: the full name (middle names included) with a birth date one
                # keying slip off (a digit, two digits swapped, day and month swapped):
                # a namesake does not share the middle names, whatever the date's typo
                kd = spec.names.index("dob")
                ok = spec.comparison("dob").codes(spec.gate_yields_dob_levels)
                rest = [k for k in ks if k != kd]
                full = np.all(lv[:, rest] == 0, axis=1) & isin(lv[:, kd].astype(np.int64), ok)
            if not spec.gate_yields_within_index and self.engine._src_codes is not None:
                # inside one index a second record of the same full name and birth date
                # at another address is one its registration search found and the index
                # judged someone else, or one nobody searched for: the address decides,
                # as for any move
                full &= ~self.engine._same_index(i, j)
            gated &= ~full
        # one man recorded under two surnames, each agency listing the other's as an
        # alias, with his date of birth: no namesake produces that, so it corroborates
        # a move as well as a shared relative does
        if spec.alias_corroborates:
            gated &= ~self.engine.alias_evidence(prep.comparer, edges.levels[link], i, j)
        # a pair whose mentions name the same relative is one person who moved (only
        # pairs recorded at two different places can need it)
        moved = gated & (places[i] >= 0) & (places[j] >= 0) & (places[i] != places[j])
        gated[moved] &= ~share_kin(self.kin, i[moved], j[moved], prev)
        if spec.gate_kin_own_surname_full_match and spec.gate_kin_namesake_places > 0:
            # 21-recall10: one full name and birth date at two places, and a relative of
            # one record's own surname (his mother "Christine Little" at the school) known
            # by her full name where the other record is (the hospital kept her and the boy
            # at the old address): a stranger of the boy's name and birth date would need
            # a namesake of his mother at his own address as well
            strong = moved & gated & self._full_match(edges.levels[link])
            if strong.any():
                seen = self._seen(own_surname=1)
                k = np.flatnonzero(strong)
                ok = _group_has(*seen, i[k], places[j[k]]) | _group_has(*seen, j[k], places[i[k]])
                gated[k[ok]] = False
        ptr, val = home_places(self.kin, places, prev)
        seen_ptr, seen_val = self._seen()
        gate = PlaceGate(
            places=places,
            gated=gated,
            home_ptr=ptr,
            home_val=val,
            corroborated=self.corroborated,
            household=self.household,
            seen_ptr=seen_ptr,
            seen_val=seen_val,
        )
        return constrained_components(*args, gate=gate, years=guard)[0]

    def _full_match(self, lv: np.ndarray) -> np.ndarray:
        """Per edge: forename exact or a nickname, surname exact, birth date at a
        `gate_yields_dob_levels` level (21-recall10)."""
        spec = self.spec
        out = np.ones(len(lv), bool)
        for name, ok in (
            ("forename", ("exact", "nickname")),
            ("surname", ("exact",)),
            ("dob", tuple(spec.gate_yields_dob_levels)),
        ):
            if name not in spec.names:
                return np.zeros(len(lv), bool)
            codes = spec.comparison(name).codes(ok, missing_ok=True)
            out &= isin(lv[:, spec.names.index(name)].astype(np.int64), codes)
        return out

    def _seen(self, own_surname: int | None = None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Per record (CSR), where its stated relatives' full names are recorded
        (:func:`kin_namesake_places` with ``own_surname``, default the spec's
        ``gate_kin_namesake_own_surname``; labels play no part: made once for the run)."""
        spec, places = self.spec, self.prep.places
        if spec.gate_kin_namesake_places <= 0 or places is None:
            return None, None
        own = spec.gate_kin_namesake_own_surname if own_surname is None else own_surname
        if own not in self._seen_by:
            self._seen_by[own] = kin_namesake_places(
                self.kin, self.prep.s, places, spec.gate_kin_namesake_places, own_surname=own
            )
        return self._seen_by[own]

    def _index_moves(self, edges: Edges, prev: np.ndarray | None) -> np.ndarray:
        """21-within10: scored pairs below ``auto`` of one index at two places let in
        because the person's household is known at the other place.

        A hospital's second registration of a patient at a new address scores below
        ``auto`` on the two postcodes alone, before the place gate's evidence of a move
        is ever read.  When a stated relative of one record is recorded at the other
        record's place (by her full name, or as a person resolved there), or both records
        state the same relative, the household is known at both places: the pair is
        scored without the disagreement of ``index_move_kin_ignores`` (postcode,
        address) and linked if that reaches ``auto``.  A same-name, same-birthday
        stranger at the other address would need the person's relative living with him.
        The link is gated like any other scored link (the groups it joins must show
        the move's evidence too, or share the relative).
        """
        places = self.prep.places
        assert places is not None
        cand = self.engine.index_move_candidates(edges, places)
        k = np.flatnonzero(cand)
        out = np.zeros(len(edges.i), bool)
        if not len(k) or self.kin is None:
            return out
        i, j = edges.i[k], edges.j[k]
        pi, pj = places[i], places[j]
        ok = share_kin(self.kin, i, j, prev)
        # (the groups' evidence once a round has clustered: what any record of the
        # person states)
        for ptr, val in (home_places(self.kin, places, prev), self._seen()):
            ok |= _group_has(ptr, val, i, pj, prev) | _group_has(ptr, val, j, pi, prev)
        out[k[ok]] = True
        return out


def _group_has(
    ptr: np.ndarray | None,
    val: np.ndarray | None,
    r: np.ndarray,
    p: np.ndarray,
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """Per ``k``: whether ``p[k]`` is among the CSR values (``ptr``, ``val``) of a record
    of ``r[k]``'s group (``labels``: group per record; None: each record its own)."""
    if ptr is None or val is None or not len(val) or not len(r):
        return np.zeros(len(r), bool)
    if labels is None:
        labels = np.arange(len(ptr) - 1, dtype=np.int64)
    base = int(max(val.max(), p.max())) + 1
    rows = np.repeat(np.arange(len(ptr) - 1, dtype=np.int64), np.diff(ptr))
    have = unique_sorted(labels[rows].astype(np.int64) * base + val.astype(np.int64))
    return isin(labels[r].astype(np.int64) * base + p.astype(np.int64), have)


def _fingerprints(prep: Prepared, base: np.ndarray) -> np.ndarray:
    """Per mention, a hash of what it says: its linkage columns' hash (``base``, from
    :func:`_row_hashes`) and the values its stated relationships imply (sex, birth-year
    bounds)."""
    fp = base.astype(np.uint64)
    for k, x in enumerate(prep.fp_extra):
        fp = fp ^ (x * np.uint64(0x9E3779B97F4A7C15 + k))
    return fp


def _row_hashes(mentions: pd.DataFrame) -> np.ndarray:
    """The hash of each mention's linkage columns (:func:`fingerprint`)."""
    # (by position: the index is not hashed, so the frame is not copied to reset it)
    return fingerprint(mentions)


def _check_keys(mentions: pd.DataFrame) -> None:
    if mentions["key"].duplicated().any():
        raise ValueError("mention keys must be unique")


def _kept_apart_reasons(
    labels: np.ndarray, i: np.ndarray, j: np.ndarray, prep: Prepared
) -> list[str]:
    """Why clustering did not join pairs scored at or above ``auto``."""
    out = np.full(len(i), reasons.CONFLICTING, dtype=object)
    out[prep.weak[i] | prep.weak[j]] = reasons.AMBIGUOUS_NAME_ONLY
    if prep.ambiguous is not None:
        # 22-within11: a dated, placeless record of one index fitting two of its persons
        out[prep.ambiguous[i] | prep.ambiguous[j]] = reasons.AMBIGUOUS_RECORD
    if prep.places is not None:
        known = prep.places >= 0
        at = pd.DataFrame({"lab": labels[known], "pl": prep.places[known]}).drop_duplicates()
        placed_labels = unique_sorted(at["lab"].to_numpy())
        la, lb = labels[i], labels[j]
        pairs = pd.DataFrame({"k": np.arange(len(i)), "lab": la, "lb": lb})
        common = pairs.merge(at, on="lab").merge(at.rename(columns={"lab": "lb"}), on=["lb", "pl"])
        shared = np.zeros(len(i), bool)
        shared[common["k"].to_numpy()] = True
        apart = isin(la, placed_labels) & isin(lb, placed_labels) & ~shared
        out[apart] = reasons.DIFFERENT_ADDRESSES
    return out.tolist()


def _uncounted(
    bonus: np.ndarray,
    weights: np.ndarray,
    mask: np.ndarray,
    comps: tuple[int | None, ...],
    *,
    against_only: bool = False,
) -> np.ndarray:
    """A relationship round's ``bonus`` with comparisons ``comps``' weights taken back
    on the pairs of ``mask`` (with ``against_only``, only a weight against a match):
    the score then reads as if those comparisons had not been made."""
    for k in comps:
        if k is not None:
            w = weights[:, k].astype(np.float64)
            bonus = bonus - np.where(mask, np.minimum(w, 0.0) if against_only else w, 0.0)
    return bonus


def _model_pairs(model: Model | None) -> NamePairs | None:
    """The forename variants a model was trained with (None: no model, learn them)."""
    if model is None:
        return None
    # models pickled before name variants existed have no attribute
    return tuple(tuple(p) for p in getattr(model, "name_variants", ()))  # type: ignore[misc]


def _name_only(s: pd.DataFrame) -> np.ndarray:
    """Mentions with neither a date of birth nor a valid identifier another record shares.

    An identifier no other record carries (a PNC id on one nominal only) ties the
    mention to nobody: for telling a father from his namesake son it is as weak as none.
    """
    weak = s["dob"].isna().to_numpy()
    for c in s.columns:
        if c.startswith("id_"):
            v = s[c]
            shared = v.notna() & v.duplicated(keep=False)
            weak &= ~shared.to_numpy()
    return weak


class LinkageEngine:
    """Links person mentions with a spec-driven Fellegi–Sunter model.

    Args:
        spec: linkage spec (default: the packaged ``default.toml``).
        link_only: only compare mentions from different ``system`` values (two-file
            linkage, e.g. FEBRL4); default is dedupe-and-link.
        workers: rapidfuzz threads; with 2 or more, a run that has to train its model
            on many mentions trains it in a forked process while this one blocks and
            compares the candidate pairs (the two do not depend on each other).
        memory_mb: the run's memory budget, forks included (None or 0: none); a fork
            starts only when even a full copy of this process fits in it
            (:func:`~cpgraph.linkage.forking.fork_fits`), else its job runs here.
        spill_dir: a private folder where a run with ``spill_min`` cannot-links or more
            puts them once clustered (read-only memory maps from then on, until the
            state is saved: see :attr:`LinkState.cannot_files`); None: kept in memory.
        spill_min: see ``spill_dir`` (None: :data:`SPILL_MIN`).
    """

    def __init__(
        self,
        spec: Spec | None = None,
        *,
        link_only: bool = False,
        workers: int = 1,
        memory_mb: int | None = None,
        spill_dir: Path | None = None,
        spill_min: int | None = None,
    ) -> None:
        self.spec = spec or load_spec()
        self.link_only = link_only
        self.workers = workers
        self.memory_mb = memory_mb
        self.spill_dir = spill_dir
        self.spill_min = spill_min
        self.model: Model | None = None
        self._src_codes: np.ndarray | None = None
        # 19-within8: per record, whether it carries its index's own identifier
        self._own_ids: np.ndarray | None = None

    def _parallel(self, size: int | None = None) -> bool:
        """Whether to do part of the work in a forked process (``size``: mentions)."""
        big = size is None or size >= PARALLEL_MIN
        return self.workers >= 2 and big and can_fork()

    def _fork(self, job: Callable[[], Any], grows: float = 0.0) -> Callable[[], Any]:
        """``job`` in a forked process when the budget allows (see :func:`in_fork`)."""
        return in_fork(job, (self.memory_mb or 0) << 20, grows)

    # ----------------------------------------------------------------- preparation
    def _prepare(
        self,
        mentions: pd.DataFrame,
        rels: pd.DataFrame | None = None,
        name_pairs: NamePairs | None = None,
    ) -> Prepared:
        """Standardise, apply relationships, build blocking and comparison tables.

        ``name_pairs``: forename variants to use (a model's); None learns them here.
        """
        _check_keys(mentions)
        return self._prepare_standardised(standardise(mentions, self.spec), rels, name_pairs)

    def _prepare_standardised(
        self, s: pd.DataFrame, rels: pd.DataFrame | None, name_pairs: NamePairs | None
    ) -> Prepared:
        """:meth:`_prepare` on records already standardised (``s``)."""
        spec = self.spec
        n = len(s)
        pos = pd.Series(np.arange(n), index=s["key"].to_numpy(object))
        rels = rels if rels is not None and not rels.empty else None
        lo = hi = None
        si = sj = np.empty(0, np.int64)
        fp_extra: list[np.ndarray] = []
        if rels is not None:
            rels = resolve_positions(rels, pos)  # key look-ups once, not every round
            extra: list[np.ndarray] = []
            if spec.rel_infer_sex:
                sx = implied_sex(rels, pos, n)
                fill = pd.isna(s["sex"].to_numpy(object)) & pd.notna(sx)
                if fill.any():
                    s["sex"] = np.where(fill, sx, s["sex"].to_numpy(object))
                extra.append(fill.astype(np.uint64))
            if spec.rel_generation_gap > 0:
                lo, hi = year_bounds(
                    rels,
                    pos,
                    s["dob_y"].to_numpy(),
                    spec.rel_generation_gap,
                    gap2=spec.rel_grandparent_gap,
                    slips=spec.rel_year_slips,
                )
                extra += [
                    np.nan_to_num(lo, neginf=-1).astype(np.int64).astype(np.uint64),
                    np.nan_to_num(hi, posinf=-1).astype(np.int64).astype(np.uint64),
                ]
            if spec.rel_stated_cannot:
                si, sj = stated_pairs(
                    rels, pos, s["key"].to_numpy(object) if spec.rel_colisted_cannot else None
                )
            fp_extra = extra
        variants = name_variants(s)
        if name_pairs is None:
            name_pairs = learn_name_variants(s, variants, spec)
        vtable = variant_block_table(s, variants, spec, name_pairs)
        comparer = Comparer(s, variants, spec, name_pairs)
        places = None
        if spec.place_gate:
            codes, _ = pd.factorize(s[spec.place_gate])  # -1 where unknown
            places = codes.astype(np.int64)
        return Prepared(
            s,
            vtable,
            comparer,
            pos,
            rels,
            lo,
            hi,
            si,
            sj,
            name_pairs,
            fp_extra,
            places,
            _name_only(s),
        )

    def _exclude(self, prep: Prepared):
        """Training-pair filter: known non-matches (cannot-links, stated relatives)."""
        if not self.spec.train_exclude_cannot:
            return None
        rules = Scorer(prep.comparer, None, self.spec, prep.year_lo, prep.year_hi)
        n = max(len(prep.s), 1)
        stated = unique_sorted(prep.stated_i * n + prep.stated_j)

        def exclude(pl) -> np.ndarray:
            drop = rules.rules(pl).cannot
            if len(stated):
                a, b = np.minimum(pl.i, pl.j), np.maximum(pl.i, pl.j)
                drop |= isin(a * n + b, stated)
            return drop

        return exclude

    def _fit(self, prep: Prepared) -> Model:
        model = fit(
            prep.s,
            prep.comparer,
            prep.vtable,
            self.spec,
            link_only=self.link_only,
            exclude=self._exclude(prep),
            source_codes=master_index_codes(prep.s, self.spec.master_kinds),
        )
        model.name_variants = list(prep.name_pairs)
        return model

    def comparer(self, mentions: pd.DataFrame, model: Model | None = None) -> Comparer:
        """The comparer :meth:`link` would use on ``mentions`` (its ``s`` is positional).

        Args:
            mentions: one row per mention (input contract).
            model: the model whose learned forename variants apply (default: learn them
                from ``mentions``, as training does).
        """
        return self._prepare(mentions, None, _model_pairs(model)).comparer

    def fit(self, mentions: pd.DataFrame, relationships: pd.DataFrame | None = None) -> Model:
        """Estimate the model (u, m, prior, TF tables) from unlabelled mentions.

        Args:
            mentions: one row per mention (input contract).
            relationships: ``from_key, to_key, relationship[, lives_with]`` (optional):
                relatives of each other and relationship-implied birth years are kept
                out of training as known non-matches.
        """
        self.model = self._fit(self._prepare(mentions, relationships))
        return self.model

    # ----------------------------------------------------------------- edges
    def _edges_from(self, sp: ScoredPairs, keep_all: bool = False) -> Edges:
        det = sp.deterministic != None  # noqa: E711
        if not keep_all:
            keep = (sp.probability >= self.spec.review) | det | sp.cannot
            keep |= self._index_band(sp.levels.i, sp.levels.j, sp.probability)
            if not keep.all():
                sp = sp.take(keep)
                det = det[keep]
        method = np.full(len(det), "probabilistic", dtype=object)
        if det.any():
            # one string per rule, not one per edge (most kept edges of a large run can
            # be deterministic ones)
            rule = {x: "deterministic:" + str(x) for x in set(sp.deterministic[det].tolist())}
            method[det] = [rule[x] for x in sp.deterministic[det].tolist()]
        weight = np.where(det, np.maximum(sp.weight, DETERMINISTIC_WEIGHT), sp.weight)
        prob = np.where(det, 1.0, sp.probability)
        prio = np.where(det, PRIORITY_DETERMINISTIC, PRIORITY_SCORED)
        # below `review` a reviewable guard's pair is nobody's question: a plain cannot-link
        kept = np.where(sp.probability >= self.spec.review, sp.kept, 0).astype(np.int8)
        e = Edges(
            sp.levels.i,
            sp.levels.j,
            weight,
            prob,
            method,
            prio,
            sp.cannot,
            sp.levels.levels,
            sp.comp_weights.astype(np.float32),
            kept,
        )
        return e

    def _index_band(self, i: np.ndarray, j: np.ndarray, prob: np.ndarray) -> np.ndarray:
        """Pairs of one master index scored in ``[within_index_review, review)``.

        Such a pair is kept as an edge (it never links: below ``auto``) so that the review
        queue can list it as a suspected duplicate of the index; False everywhere when the
        spec sets no ``within_index_review``.
        """
        lo = self.spec.within_index_review
        if lo is None or lo >= self.spec.review or not len(i):
            return np.zeros(len(i), bool)
        return (prob >= lo) & (prob < self.spec.review) & self._same_index(i, j)

    def index_move_candidates(self, edges: Edges, places: np.ndarray) -> np.ndarray:
        """Per edge: a scored pair below ``auto`` of one index, at two known places, that
        reaches ``auto`` without the disagreement of ``index_move_kin_ignores``
        (:meth:`_Clusterer._index_moves` reads whether the household evidences the move)."""
        spec = self.spec
        out = np.zeros(len(edges.i), bool)
        if not spec.index_move_kin_ignores or not len(edges.i):
            return out
        # (every scored edge kept below `auto`: `review` up, and the index's own band
        # from `within_index_review`, where most second registrations at two places sit)
        sel = ~edges.cannot & (edges.priority == PRIORITY_SCORED) & (edges.prob < spec.auto)
        k = np.flatnonzero(sel)
        if not len(k):
            return out
        i, j = edges.i[k], edges.j[k]
        pi, pj = places[i], places[j]
        ks = [spec.names.index(x) for x in spec.index_move_kin_ignores]
        cost = np.minimum(edges.comp_w[k][:, ks].astype(np.float64), 0.0).sum(axis=1)
        ok = (
            (pi >= 0)
            & (pj >= 0)
            & (pi != pj)
            & (edges.weight[k] - cost >= weight_for_probability(spec.auto))
            & self._same_index(i, j)
        )
        out[k[ok]] = True
        return out

    def _same_index(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Whether each pair's two records lie in one system's own master index (False
        everywhere before the scorer has coded the sources)."""
        src = self._src_codes
        if src is None:
            return np.zeros(len(i), bool)
        a = src[i]
        return (a >= 0) & (a == src[j])

    def _edges_to_frame(self, e: Edges, keys: np.ndarray) -> pd.DataFrame:
        d = {
            "key_a": keys[e.i],
            "key_b": keys[e.j],
            "weight": e.weight,
            "probability": e.prob,
            "method": e.method,
            "priority": e.priority,
            "cannot": e.cannot,
            "kept": e.kept,
        }
        for k, name in enumerate(self.spec.names):
            d[f"lv_{name}"] = e.levels[:, k]
            d[f"w_{name}"] = e.comp_w[:, k]
        # (views of the edges' columns, not a second table of them: the run's edges and
        # its state are held together until the run returns)
        return pd.DataFrame(d, copy=False)

    def _edges_from_frame(
        self,
        df: pd.DataFrame,
        pos: pd.Series,
        ends: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Edges:
        """Edges of a state's frame, their ends by position (``ends``: already found)."""
        names = self.spec.names
        if ends is None:
            i = pos.reindex(df["key_a"]).to_numpy()
            j = pos.reindex(df["key_b"]).to_numpy()
        else:
            i, j = ends
        return Edges(
            i.astype(np.int64),
            j.astype(np.int64),
            df["weight"].to_numpy(np.float64),
            df["probability"].to_numpy(np.float64),
            df["method"].to_numpy(object),
            df["priority"].to_numpy(np.int64),
            df["cannot"].to_numpy(bool),
            df[[f"lv_{n}" for n in names]].to_numpy(np.int8),
            df[[f"w_{n}" for n in names]].to_numpy(np.float32),
            (df["kept"].to_numpy(np.int8) if "kept" in df.columns else np.zeros(len(df), np.int8)),
        )

    def _score_chunk(
        self,
        scorer: Scorer,
        i: np.ndarray,
        j: np.ndarray,
        st: int,
        chunk: int,
        levels: PairLevels | None = None,
        rules: RuleOutcome | None = None,
    ) -> Edges:
        a, b = i[st : st + chunk], j[st : st + chunk]
        return self._edges_from(scorer.score(a, b, levels=levels, rules=rules))

    # ----------------------------------------------------------------- run
    def link(
        self,
        mentions: pd.DataFrame,
        relationships: pd.DataFrame | None = None,
        *,
        steward: Iterable[tuple[str, str, str]] = (),
        previous_ids: Mapping[str, str] | None = None,
        reserved_ids: Iterable[str] = (),
        state: LinkState | None = None,
        model: Model | None = None,
        full: bool = False,
        breakdowns: bool = True,
    ) -> EngineResult:
        """Resolve every mention to a person.

        The run is a sequence of stages, each a method with a typed result: prepare
        (standardise, learn name variants, train) → score (block and compare candidate
        pairs; incremental: only pairs touching changes) → steward decisions → cluster
        (constrained clustering with the place gate, relationship rounds, ambiguous
        name-only mentions) → cohesion (split clusters with conflicting members) →
        assign (stable ids, breakdowns, the review queue).

        Args:
            mentions: one row per mention (input contract).
            relationships: ``from_key, to_key, relationship[, lives_with]``.
            steward: ``(key_a, key_b, 'LINK' | 'NO_LINK')`` decisions; they always win.
            previous_ids: key → person id of the previous run (stable ids).
            reserved_ids: retired ids never to hand out again.
            state: previous :class:`LinkState`; with it (and ``full=False``) only new or
                changed mentions are compared, re-using its model and stored pair scores.
            model: a model to use as is (skips training); default: ``state.model`` when
                incremental, else trained on ``mentions``.
            full: ignore ``state`` pair scores and recompare everything.
            breakdowns: build the per-mention weight breakdown dicts.

        Returns:
            The :class:`EngineResult`.
        """
        with comparison_threads(self.workers):
            t0 = time.perf_counter()
            timings: dict[str, float] = {}
            if model is None:
                model = state.model if state is not None else self.model
            # nothing reads the mentions once they are standardised: handed to the stage,
            # a frame its caller handed over (the service keeps only the columns it
            # writes) is freed before the comparison tables are built
            handover = [mentions]
            del mentions
            prepared = self._prepare_stage(handover, relationships, model, timings)
            del relationships
            prep = prepared.prep
            incremental = state is not None and not full
            # (each stage's freed temporaries go back to the system before the next)
            release_free_memory()
            scored = self._score_stage(prepared, state if incremental else None, timings)
            if state is not None:
                # its cannot-links are the score stage's now (~0.5 GB at 1.29M mentions):
                # not held through the run beside them
                state = replace(state, cannot=None)
            self.model = scored.model
            fingerprints = prepared.fingerprints
            del prepared
            # the block table is read by blocking and training only (~190 bytes a mention)
            prep.vtable = prep.vtable.iloc[:0].copy()  # (a slice would keep its arrays)
            release_free_memory()
            decided = list(steward)
            decisions = self._steward_stage(decided, prep, scored.scorer)
            # (an incremental run re-clusters only the region its delta reaches)
            clustered, labels, n_split, scoped = self._clustered(
                prep, scored, decisions, state if incremental else None, decided,
                previous_ids, timings,
            )  # fmt: skip
            del state  # (nothing after the scope reads the last run's edges)
            # The cannot-links (16 bytes each, ~0.2 GB at 1M mentions) are read again only
            # by the next run: on disk from here, they are not held through the
            # assignments and the write stage, the run's peak.
            spilled = self._spill_cannot(scored)
            try:
                t1 = time.perf_counter()
                keys = prep.s["key"].to_numpy(object)
                edges = clustered.edges
                reviewing = None
                review = None
                if self._parallel(len(keys)):
                    # the review queue (explained pairs) is built alongside the assignments
                    reviewing = self._fork(partial(self._review, keys, labels, edges, prep))
                else:
                    review = self._review(keys, labels, edges, prep)
                if review is not None:
                    # nothing after the review reads the prepared records (standardised
                    # frame, name variants, comparison codes: ~1 GB at 1.29M mentions)
                    del prep, scored.scorer
                    release_free_memory()
                ida = assign_ids(keys.tolist(), labels, previous_ids, reserved_ids)
                assignments = self._assignments(keys, labels, ida.person_ids, edges, breakdowns)
                if review is None:
                    assert reviewing is not None
                    review = reviewing()
                timings["assign"] = time.perf_counter() - t1
                summary = self._summary(
                    labels, scored, decisions, clustered, review, ida, incremental, n_split
                )
                scope_state = scoped.pop("state")
                inside = scoped.pop("inside", None)
                summary.update(scoped)
                # the run's edges (~100 bytes each) are not needed beside their state frame
                del edges, clustered, reviewing
                cl = scored.cannot
                st = LinkState(
                    model=scored.model,
                    edges=self._edges_to_frame(scored.base, keys),
                    fingerprints=fingerprints,
                    cannot=pd.DataFrame({"a": cl.i, "b": cl.j, "weight": cl.weight}, copy=False),
                    scope=scope_state,
                    cannot_files=spilled,
                )
                timings["total"] = time.perf_counter() - t0
                return EngineResult(
                    assignments=assignments,
                    review=review,
                    retired_ids=ida.retired,
                    summary=summary,
                    model=scored.model,
                    state=st,
                    timings=timings,
                    region=inside,
                )
            except BaseException:
                remove_spill(spilled)
                raise

    def _spill_cannot(self, scored: ScoreResult) -> dict[str, Path] | None:
        """Move the run's cannot-links to ``.npy`` files in :attr:`spill_dir` and map
        them back read-only (same values; pages the kernel can drop); None when the run
        keeps them in memory (no folder, or fewer than :attr:`spill_min`)."""
        cl = scored.cannot
        least = SPILL_MIN if self.spill_min is None else self.spill_min
        if self.spill_dir is None or len(cl) < max(least, 1):
            return None
        token = f"{SPILL_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        files: dict[str, Path] = {}
        mapped: dict[str, np.ndarray] = {}
        # (the dtypes a saved state holds: int32 ends, float64 weights)
        columns = (("a", cl.i, np.int32), ("b", cl.j, np.int32), ("weight", cl.weight, np.float64))
        try:
            for name, values, dtype in columns:
                path = self.spill_dir / f"{token}-{name}.npy"
                files[name] = path
                array = np.ascontiguousarray(values, dtype=dtype)
                write_private(path, lambda fh, a=array: np.lib.format.write_array(fh, a))
                mapped[name] = np.load(path, mmap_mode="r", allow_pickle=False)
        except BaseException:
            remove_spill(files)
            raise
        scored.cannot = CannotLinks(mapped["a"], mapped["b"], mapped["weight"])
        del cl, columns
        release_free_memory()
        return files

    # ----------------------------------------------------------------- stages
    def _prepare_stage(
        self,
        mentions: pd.DataFrame | list[pd.DataFrame],
        relationships: pd.DataFrame | None,
        model: Model | None,
        timings: dict[str, float],
    ) -> PrepareResult:
        """Standardise, and train the model unless one is given (forked when large).

        ``mentions`` in a one-item list is handed over: the frame is taken out of the list
        and dropped once standardised, before the comparison tables are built (nothing
        after reads it), so a caller holding no other reference has it freed.
        """
        t0 = time.perf_counter()
        frame = mentions.pop() if isinstance(mentions, list) else mentions
        del mentions
        _check_keys(frame)
        # the mentions' hash needs no preparation: a forked process computes it meanwhile
        if self._parallel(len(frame)):
            # (while it runs, preparing the records about doubles this process: 1.26 to
            # 2.56 GB at 1.29M mentions)
            fp_base = self._fork(partial(_row_hashes, frame), grows=1.0)
        else:
            fp_base = in_process(partial(_row_hashes, frame))
        s = standardise(frame, self.spec)
        del frame
        # a given model brings the name variants it was trained with
        prep = self._prepare_standardised(s, relationships, _model_pairs(model))
        del s
        timings["standardise"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        training = None
        if model is None:
            if self._parallel(len(prep.s)):
                training = self._fork(lambda: self._fit(prep))
            else:
                model = self._fit(prep)
        timings["fit"] = time.perf_counter() - t1
        # (waited for here: while a forked process trains the model, if one does)
        fp = pd.Series(_fingerprints(prep, fp_base()), index=prep.s["key"].to_numpy(object))
        return PrepareResult(prep=prep, fingerprints=fp, model=model, training=training)

    def _score_stage(
        self, prepared: PrepareResult, state: LinkState | None, timings: dict[str, float]
    ) -> ScoreResult:
        """Candidate pairs and their scores (with ``state``: only pairs touching changes).

        While a forked process trains the model, the first chunk of pairs is compared
        (levels and rules need no model); a forked process scores every other chunk of
        a large run.
        """
        prep, spec = prepared.prep, self.spec
        s, comparer = prep.s, prep.comparer
        n = len(s)
        changed, parts = self._reused_edges(prepared, state)
        cannot = [self._reused_cannot(prepared, state, changed)]
        nc = len(spec.comparisons)
        t1 = time.perf_counter()
        chunk = SCORE_CHUNK
        grp = s["grp"].to_numpy() if self.link_only else None
        if state is None:
            # pairs are made, compared and scored one record range at a time: only the
            # kept edges of the run stay resident, never all candidate pairs
            blocks = rule_blocks(s, prep.vtable, spec)
            plan = pair_plan(blocks, n, SCORE_CHUNK)

            def make(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
                return range_pairs(blocks, lo, hi, n, grp)

        else:
            # a delta's pairs (touching new or changed mentions), a part of the delta at
            # a time: only the blocks holding a delta record are built, and a delta's
            # pairs are not few at scale (a 1% delta at 1.29M mentions ran out of memory
            # making them at once)
            blocks = rule_blocks(s, prep.vtable, spec, left=changed)
            delta = np.flatnonzero(changed)
            plan = delta_plan(blocks, delta, SCORE_CHUNK)

            def make(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
                return delta_pairs(blocks, delta[lo:hi], changed, n, grp)

        timings["block"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        first = None
        rules_first = None
        model = prepared.model
        waited = 0.0
        if prepared.training is not None and plan:
            # levels do not depend on the model: compare while it trains, then wait
            fi, fj = make(*plan[0])
            first = comparer.compare(fi[:chunk], fj[:chunk])
            # the rules (identifiers, cannot-links) need no model either
            rules_first = Scorer(comparer, None, spec, prep.year_lo, prep.year_hi).rules(first)
            del fi, fj
        if prepared.training is not None:
            t2 = time.perf_counter()
            model = prepared.training()
            waited = time.perf_counter() - t2
            timings["fit"] += waited
        assert model is not None
        scorer = Scorer(comparer, model, spec, prep.year_lo, prep.year_hi)
        self._src_codes = scorer.source_codes
        self._own_ids = scorer.own_ids

        def score_range(k: int) -> tuple[Edges, CannotLinks, int]:
            """The kept edges of ``plan[k]``'s pairs (cannot-links apart), and how many
            pairs it compared."""
            pi, pj = make(*plan[k])
            out = [
                split_cannot(
                    self._score_chunk(
                        scorer,
                        pi,
                        pj,
                        st,
                        chunk,
                        first if k == 0 and st == 0 else None,
                        rules_first if k == 0 and st == 0 else None,
                    )
                )
                for st in range(0, len(pi), chunk)
            ]
            edges = Edges.concat([e for e, _ in out]) if out else Edges.empty(nc)
            return edges, CannotLinks.concat([c for _, c in out]), len(pi)

        todo = range(len(plan))
        helper = None
        theirs: list[int] = []
        if self._parallel() and len(plan) >= 3:
            # a forked process scores every other range (it inherits the block tables and
            # the scorer, reads them only, and makes its own pairs; only the kept edges
            # come back)
            theirs = list(todo[2::2])
            helper = self._fork(lambda: [score_range(k) for k in theirs])
        scored = {k: score_range(k) for k in todo if k not in theirs}
        if helper is not None:
            scored.update(zip(theirs, helper(), strict=True))
        # range order: the pairs' global order (results do not depend on it)
        parts.extend(scored[k][0] for k in todo)
        cannot.extend(scored[k][1] for k in todo)
        compared = sum(scored[k][2] for k in todo)
        del scored
        timings["score"] = time.perf_counter() - t1 - waited
        # (a range's columns are freed as each is copied: never every range and the
        # whole table at once)
        base = Edges.concat(parts, consume=parts) if parts else Edges.empty(nc)
        del parts
        return ScoreResult(
            base=base,
            model=model,
            scorer=scorer,
            changed=changed,
            compared=int(compared),
            cannot=CannotLinks.concat(cannot, consume=True),
        )

    def _reused_edges(
        self, prepared: PrepareResult, state: LinkState | None
    ) -> tuple[np.ndarray, list[Edges]]:
        """Which mentions changed since ``state``, and its stored edges between the rest.

        Without a state every mention counts as changed and nothing is reused.
        """
        prep = prepared.prep
        keys = prep.s["key"].to_numpy(object)
        if state is None:
            return np.ones(len(keys), bool), []
        old_fp = state.fingerprints.reindex(keys)
        fp = prepared.fingerprints
        changed = (old_fp.isna() | (old_fp.to_numpy() != fp.to_numpy())).to_numpy()
        old = state.edges
        # each end's position now (one look-up per end, used for the test and the edges)
        i = prep.pos.reindex(old["key_a"]).to_numpy(np.float64)
        j = prep.pos.reindex(old["key_b"]).to_numpy(np.float64)
        ok = ~(np.isnan(i) | np.isnan(j))
        ok[ok] = ~changed[i[ok].astype(np.int64)] & ~changed[j[ok].astype(np.int64)]
        return changed, [self._edges_from_frame(old[ok], prep.pos, (i[ok], j[ok]))]

    def _reused_cannot(
        self, prepared: PrepareResult, state: LinkState | None, changed: np.ndarray
    ) -> CannotLinks:
        """The state's compact cannot-links between mentions unchanged since its run."""
        if state is None or state.cannot is None or state.cannot.empty:
            return CannotLinks.empty()
        # the state's positions are in its fingerprints' order: map them to this run's
        at = prepared.prep.pos.reindex(state.fingerprints.index).to_numpy(np.float64)
        ok = ~np.isnan(at)
        at = np.where(ok, at, 0).astype(np.int64)
        ok &= ~changed[at]
        a = state.cannot["a"].to_numpy(np.int64)
        b = state.cannot["b"].to_numpy(np.int64)
        keep = ok[a] & ok[b]
        return CannotLinks(
            at[a[keep]].astype(np.int32),
            at[b[keep]].astype(np.int32),
            state.cannot["weight"].to_numpy(np.float64)[keep],
        )

    def _steward_stage(
        self, steward: Iterable[tuple[str, str, str]], prep: Prepared, scorer: Scorer
    ) -> Decisions:
        """Steward LINKs as edges that always win, NO_LINKs as cannot-links."""
        pos = prep.pos
        st_link, st_cannot = [], []
        for a, b, d in steward:
            if a in pos.index and b in pos.index and a != b:
                pa, pb = int(pos[a]), int(pos[b])
                (st_link if str(d).upper() == "LINK" else st_cannot).append(
                    (min(pa, pb), max(pa, pb))
                )
        if st_link:
            sl = np.asarray(st_link, np.int64)
            se = self._edges_from(scorer.score(sl[:, 0], sl[:, 1]), keep_all=True)
            se.method[:] = "steward"
            se.priority[:] = PRIORITY_STEWARD
            se.weight[:] = STEWARD_WEIGHT
            se.prob[:] = 1.0
            se.cannot[:] = False
            se.kept[:] = 0
            steward_edges = se
        else:
            steward_edges = Edges.empty(len(self.spec.comparisons))
        return Decisions(links=steward_edges, cannot=np.asarray(st_cannot, np.int64).reshape(-1, 2))

    def _cluster_stage(
        self, prep: Prepared, scored: ScoreResult, decisions: Decisions
    ) -> ClusterResult:
        """Round 1, then relationship-aware rounds, then ambiguous name-only mentions."""
        spec = self.spec
        base, scorer = scored.base, scored.scorer
        sc = decisions.cannot
        si, sj = prep.stated_i, prep.stated_j  # relatives of each other: machine cannot-links
        cl = scored.cannot
        cluster = _Clusterer(self, prep, sc, cl)
        nc = len(spec.comparisons)
        # the scored edges become views of the run's edges (one copy of them, not two:
        # the state is built from the scored ones after the run)
        nl = len(decisions.links.i)
        edges = Edges.concat([decisions.links, base], views=[(base, nl)])
        labels = cluster(edges)
        rel_edges = Edges.empty(nc)
        rel_bonus = np.empty(0)
        rels = prep.rels
        pos_map = prep.pos  # (the rounds' frame is resolved: never looked up by key)
        for _ in range(spec.rel_rounds if rels is not None else 0):
            if prep.year_lo is not None:
                # birth years of relatives now known through their resolved persons
                lo, hi = year_bounds(
                    rels,
                    pos_map,
                    prep.s["dob_y"].to_numpy(),
                    spec.rel_generation_gap,
                    labels,
                    gap2=spec.rel_grandparent_gap,
                    slips=spec.rel_year_slips,
                )
                scorer.set_year_bounds(lo, hi, labels)
                clash = scorer.age_conflict(base.i, base.j) & (base.priority == PRIORITY_SCORED)
                if clash.any():
                    # a hard rule now stands against the pair: no longer the guard's
                    # question.  (On a copy: the run's state keeps the scored pairs as
                    # scored, since the bounds are re-derived from the persons each run
                    # and, spec v12, a year slip may clear a clash the next run.)
                    base = replace(
                        base,
                        cannot=base.cannot | clash,
                        kept=np.where(clash, 0, base.kept).astype(np.int8),
                    )
            ne, bonus = self._relationship_edges(
                scorer,
                rels,
                pos_map,
                labels,
                *cannot_pairs(edges, cl, (si, sj), (sc[:, 0], sc[:, 1])),
            )
            if len(ne.i) and (ne.kept > 0).any():
                # a pair kept apart for review is held once (a later round proposes it
                # again, its ends still apart)
                have = edges.kept > 0
                lo, hi = (
                    np.minimum(edges.i[have], edges.j[have]),
                    np.maximum(edges.i[have], edges.j[have]),
                )
                nn = len(labels)
                known = unique_sorted(lo * nn + hi)
                code = np.minimum(ne.i, ne.j) * nn + np.maximum(ne.i, ne.j)
                dup = (ne.kept > 0) & isin(code, known)
                if dup.any():
                    ne, bonus = ne.take(~dup), bonus[~dup]
            if not len(ne.i):
                break
            rel_edges = Edges.concat([rel_edges, ne])
            rel_bonus = np.concatenate([rel_bonus, bonus])
            # (the last round's edges a column at a time: the scored ones, and this
            # round's with their age clashes, are views of the new table)
            views = [(scored.base, nl), (base, nl), (rel_edges, nl + len(base.i))]
            edges = Edges.concat([decisions.links, base, rel_edges], views=views, consume=[edges])
            new_labels = cluster(edges, labels)
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels
        if prep.places is not None:
            # moves found so far corroborate the rest of the household's
            for _ in range(spec.rel_rounds):
                new_labels = cluster(edges, labels)
                if np.array_equal(new_labels, labels):
                    break
                labels = new_labels
        if spec.ambiguity_margin is not None:
            cann = edges.cannot
            link = ~cann & (edges.priority == PRIORITY_SCORED) & (edges.prob >= spec.auto)
            ci, cj = cannot_pairs(edges, cl, (si, sj), (sc[:, 0], sc[:, 1]))
            # spec v13: a person's age is read once its own ambiguous name-only mentions
            # are out (a father's undated nominal held by his baby namesake's person
            # must not make that person the "too young" rival of the son)
            only = None
            stated = None
            if not spec.ambiguity_forbidden_rivals:
                # what bars a rival: the scored cannot-links, and a mention with the record
                # it states a relationship to (never one person); not two relatives one
                # record lists (a prisoner's visitor and contact of one name may be one
                # sister listed twice, or two sisters: that is the ambiguity itself)
                fr = to = np.empty(0, np.int64)
                if prep.rels is not None:
                    fr = prep.rels["from_pos"].to_numpy(np.int64)
                    to = prep.rels["to_pos"].to_numpy(np.int64)
                stated = ((ci[0], ci[1], fr), (cj[0], cj[1], to))
            unique = None
            if spec.ambiguity_unique_roles and prep.rels is not None and spec.rel_unique_roles:
                rr = prep.rels
                one = rr["relationship"].isin(spec.rel_unique_roles).to_numpy()
                role, _ = pd.factorize(rr["relationship"].to_numpy(object)[one])
                # "from --mother--> to": ``to`` is the child ``from``'s mother
                unique = (
                    rr["to_pos"].to_numpy(np.int64)[one],
                    rr["from_pos"].to_numpy(np.int64)[one],
                    role.astype(np.int64),
                )
            middle = None
            if spec.ambiguous_middle_names and "middle_names" in spec.names:
                # v15: middle names tell namesakes apart (see detach_ambiguous)
                middle = edges.levels[:, spec.names.index("middle_names")] == 0
            held = None
            if middle is not None and spec.ambiguous_middle_names_kept:
                # 16-alike6: a possible match a reviewable guard alone keeps apart (at
                # `auto`) is a rival too: the undated nominal "Ibrahim Rashid Ahmed" may
                # not join his own "Ibrahim Rashid Ahmed Sr" records (the suffix is on one
                # side only), and went to his son "Ibrahom Ahmed" on a forename typo
                held = (
                    cann
                    & (edges.kept > 0)
                    & (edges.priority == PRIORITY_SCORED)
                    & (edges.prob >= spec.auto)
                )
            twins = None
            if spec.ambiguous_twins and "forename" in spec.names and "dob" in spec.names:
                # v15: twins go by their forenames (see detach_ambiguous)
                lv = edges.levels
                twins = (
                    lv[:, spec.names.index("forename")] == 0,
                    lv[:, spec.names.index("dob")] == 0,
                    edges.priority,
                    edges.method == "relationship",
                )
            # 20-alike9: records with no place of their own (no postcode, no address),
            # the same for every pass
            placeless = None
            if spec.ambiguity_detached_support:
                st = prep.s
                placeless = (st["pc"].fillna("") == "") & (st["address"].fillna("") == "")
                placeless = placeless.to_numpy()
            for _ in range(spec.ambiguity_passes):
                years, hi = self._plausible_parent_years(prep, labels)
                if years is None and middle is not None:
                    years = prep.s["dob_y"].to_numpy()  # (the persons' generations)
                settled: list[np.ndarray] = []
                new_labels = detach_ambiguous(
                    labels,
                    edges.i,
                    edges.j,
                    edges.weight,
                    link,
                    ci,
                    cj,
                    prep.weak,
                    spec.ambiguity_margin,
                    years,
                    hi,
                    generation_gap=spec.namesake_generation_gap or np.inf,
                    generation_lag=spec.namesake_max_lag,
                    only=only,
                    settled=settled,
                    forbidden_rivals=spec.ambiguity_forbidden_rivals,
                    stated=stated,
                    unique=unique,
                    middle=middle,
                    middle_held=held,
                    twins=twins,
                    detached_support=placeless,
                )
                if np.array_equal(new_labels, labels):
                    break
                labels = new_labels
                # a later pass re-reads ages: only the mentions an age settled may move
                only = np.zeros(len(labels), bool)
                only[np.concatenate([np.empty(0, np.int64), *settled])] = True
            if spec.index_ambiguous_placeless:
                labels = self._ambiguous_placeless(prep, edges, link, labels)
        return ClusterResult(labels=labels, edges=edges, rel_edges=rel_edges, rel_bonus=rel_bonus)

    def _ambiguous_placeless(
        self, prep: Prepared, e: Edges, link: np.ndarray, labels: np.ndarray
    ) -> np.ndarray:
        """22-within11 (``index_ambiguous_placeless``): a dated record of a master index
        with no place of its own (no postcode, no address) and no identifier or steward
        link, linked at ``auto`` into its own person and into another person of that index
        within ``ambiguity_margin`` bits (through records of its own index), is taken out
        of its person: it fits two patients equally and nothing of its own tells which.
        Its links are queued (``ambiguous_record``, :func:`_kept_apart_reasons`)."""
        prep.ambiguous = None
        src = self._src_codes
        margin = self.spec.ambiguity_margin
        if src is None or margin is None or not len(e.i):
            return labels
        s = prep.s
        placeless = ((s["pc"].fillna("") == "") & (s["address"].fillna("") == "")).to_numpy()
        cand = placeless & s["dob"].notna().to_numpy() & ~prep.weak & (src >= 0)
        fixed = (e.priority != PRIORITY_SCORED) & ~e.cannot
        cand[e.i[fixed]] = False
        cand[e.j[fixed]] = False
        k = np.flatnonzero(link & (cand[e.i] | cand[e.j]) & self._same_index(e.i, e.j))
        if not len(k):
            return labels
        a = np.concatenate([e.i[k], e.j[k]])
        b = np.concatenate([e.j[k], e.i[k]])
        w = np.concatenate([e.weight[k], e.weight[k]])
        sel = cand[a]
        df = pd.DataFrame({"a": a[sel], "c": labels[b[sel]], "w": w[sel]})
        best = df.groupby(["a", "c"], sort=False)["w"].max().reset_index()
        mine = labels[best["a"].to_numpy()] == best["c"].to_numpy()
        own = best[mine].set_index("a")["w"]
        alt = best[~mine]
        lag = own.reindex(alt["a"]).to_numpy() - alt["w"].to_numpy()
        amb = np.unique(alt["a"].to_numpy()[lag <= margin])  # (NaN: no link of its own)
        if not len(amb):
            return labels
        out = labels.copy()
        out[amb] = len(labels) + amb  # each alone (fresh labels, canonicalised)
        mask = np.zeros(len(labels), bool)
        mask[amb] = True
        prep.ambiguous = mask
        return canonical_labels(out)

    def _cohesion_stage(
        self,
        prep: Prepared,
        scored: ScoreResult,
        decisions: Decisions,
        clustered: ClusterResult,
    ) -> tuple[np.ndarray, int]:
        """Split clusters whose members conflict; canonical labels and splits made."""
        spec, scorer, model = self.spec, scored.scorer, scored.model
        n = len(prep.s)
        edges, rel_edges, labels = clustered.edges, clustered.rel_edges, clustered.labels
        sc, si, sj = decisions.cannot, prep.stated_i, prep.stated_j
        # a pair's direct evidence: its edges' best weight (only pairs within one cluster
        # are ever looked up, and few cannot-links lie within one)
        cl = scored.cannot
        win, cwin = same_label(labels, edges.i, edges.j), same_label(labels, cl.i, cl.j)
        ei = np.concatenate([edges.i[win], cl.i[cwin].astype(np.int64)])
        ej = np.concatenate([edges.j[win], cl.j[cwin].astype(np.int64)])
        direct = pd.Series(np.concatenate([edges.weight[win], cl.weight[cwin]]), index=ei * n + ej)
        del ei, ej, win, cwin
        direct = direct.groupby(level=0).max()
        bonus_by_code = pd.Series(clustered.rel_bonus, index=rel_edges.i * n + rel_edges.j)
        bonus_by_code = bonus_by_code.groupby(level=0).max()
        never = unique_sorted(np.concatenate([sc[:, 0] * n + sc[:, 1], si * n + sj]))
        steward_codes = unique_sorted(decisions.links.i * n + decisions.links.j)
        # the surnames each cluster states, once: pair_weights runs on many batches
        stated = prep.comparer.stated_surnames(labels) if spec.alias_corroborates else None

        def pair_weights(pi: np.ndarray, pj: np.ndarray):
            if len(pi) <= COHESION_CHUNK:
                return step_weights(pi, pj)
            # (a step at a time: each pair's weights are its own)
            steps = [
                step_weights(pi[st : st + COHESION_CHUNK], pj[st : st + COHESION_CHUNK])
                for st in range(0, len(pi), COHESION_CHUNK)
            ]
            return tuple(np.concatenate([x[k] for x in steps]) for k in range(3))

        def step_weights(pi: np.ndarray, pj: np.ndarray):
            a, b = np.minimum(pi, pj), np.maximum(pi, pj)
            sp = scorer.score(a, b)
            code = a * n + b
            # (pairs never span two of the clusters being checked)
            alias = self._alias_surname_bits(prep.comparer, model, sp, labels, stated)
            dw = direct.reindex(code).to_numpy()
            w = np.where(np.isnan(dw), sp.weight + alias, np.fmax(sp.weight + alias, dw))
            ev = sp.evidence + alias + bonus_by_code.reindex(code).fillna(0.0).to_numpy()
            ev = np.where(np.isnan(dw), ev, np.fmax(ev, dw - model.prior_weight))
            # a steward LINK overrides machine cannot-links here too (as in clustering)
            cannot = (sp.cannot | isin(code, never)) & ~isin(code, steward_codes)
            return w, ev, cannot

        split, n_split = split_incohesive(
            labels,
            pair_weights,
            spec.conflict_bits,
            weight_for_probability(spec.auto),
            spec.max_exhaustive_cluster,
        )
        return canonical_labels(split), int(n_split)

    def _summary(
        self,
        labels: np.ndarray,
        scored: ScoreResult,
        decisions: Decisions,
        clustered: ClusterResult,
        review: pd.DataFrame,
        ida: Any,
        incremental: bool,
        n_split: int,
    ) -> dict[str, Any]:
        """Counts of a run (mentions, persons, links by kind, review queue, ...)."""
        n = len(labels)
        edges = clustered.edges
        sizes = np.bincount(labels, minlength=n)
        return {
            "mentions": n,
            "persons": int((sizes > 0).sum()),
            "linked_mentions": int((sizes[labels] > 1).sum()),
            "singletons": int((sizes == 1).sum()),
            "largest_person": int(sizes.max()) if n else 0,
            "compared_pairs": scored.compared,
            "incremental": bool(incremental),
            "changed_mentions": int(scored.changed.sum()),
            "auto_links": int(((edges.prob >= self.spec.auto) & ~edges.cannot).sum()),
            "deterministic_links": int((edges.priority == PRIORITY_DETERMINISTIC).sum()),
            "relationship_links": int(len(clustered.rel_edges.i)),
            "steward_links": int(len(decisions.links.i)),
            "cannot_links": int(edges.cannot.sum() + len(scored.cannot) + len(decisions.cannot)),
            "review_queue": int(len(review)),
            "split_clusters": int(n_split),
            "new_ids": ida.new_ids,
            "retired_ids": len(ida.retired),
            "spec_version": self.spec.version,
        }

    def _relationship_edges(
        self,
        scorer: Scorer,
        rels: pd.DataFrame,
        pos_map: Positions,
        labels: np.ndarray,
        ci: Ends,
        cj: Ends,
    ) -> tuple[Edges, np.ndarray]:
        """Links found through the graph after a clustering round.

        * same anchor: two mentions in the same stated relationship to one resolved person
          with compatible names (``rel_weight`` bits of extra evidence); with
          ``surname_change`` an exact forename is enough (a married name);
        * household: a relative recorded without an address, compared as if recorded at the
          addresses of the person she is recorded against (the postcode's exact weight);
          with ``household_moves`` also one recorded at one of those addresses, compared
          as if recorded at the others (her own address comparison replaced).

        A mention whose candidates belong to two persons that may not be joined (a father
        and his namesake son at one address) is ambiguous and gets no link this way.
        ``ci, cj`` are the current cannot-link pairs.

        Returns:
            The new edges (auto-level, not cannot-linked) and the bonus each carries.
        """
        spec = self.spec
        nc = len(spec.comparisons)
        n = len(labels)
        anc = anchors(rels, pos_map, labels, co_parents=spec.rel_co_parents)
        ai, aj = anchor_pairs(anc, labels)
        hi_, hj_, hmoved = self._household_pairs(scorer, rels, pos_map, labels)
        k_pc = scorer.k_pc
        pc_w = 0.0
        if k_pc is not None and hi_.size:
            pc_w = float(scorer.model.params[k_pc].weights()[0])
        ui, uj = unique_role_pairs(rels, labels, spec.rel_unique_roles)
        # why each candidate pair is one (on a tie below, the earlier reason is kept)
        parts = [
            (ui, uj, spec.rel_weight, _REL_UNIQUE),
            (ai, aj, spec.rel_weight, _REL_ANCHOR),
            (hi_, hj_, pc_w, np.where(hmoved, _REL_MOVED, _REL_HOUSEHOLD)),
        ]
        parts = [p for p in parts if len(p[0])]
        if not parts:
            return Edges.empty(nc), np.empty(0)
        i = np.concatenate([p[0] for p in parts])
        j = np.concatenate([p[1] for p in parts])
        bonus = np.concatenate([np.full(len(p[0]), p[2], np.float64) for p in parts])
        reason = np.concatenate([np.broadcast_to(p[3], len(p[0])) for p in parts])
        # one candidate per pair: the strongest reason
        order = np.lexsort((-bonus, i * n + j))
        code = (i * n + j)[order]
        first = np.r_[True, code[1:] != code[:-1]]
        sel = order[first]
        i, j, bonus, reason = i[sel], j[sel], bonus[sel], reason[sel]
        unique = reason == _REL_UNIQUE
        same_anchor = unique | (reason == _REL_ANCHOR)
        moved = reason == _REL_MOVED
        placed = np.zeros(len(i), bool)
        if spec.rel_unique_anchor_places and unique.any():
            # 23-recall12: two mentions of a child's mother at two of the child's own places
            k = np.flatnonzero(unique)
            placed[k] = unique_role_placed(
                rels, labels, spec.rel_unique_roles, scorer.comparer.postcode_codes(), i[k], j[k]
            )
        # scored a chunk at a time (a million candidates at 1.29M mentions): each is
        # judged on its own, and only the links kept are held
        kept = [
            self._relationship_links(
                scorer,
                i[st : st + REL_CHUNK],
                j[st : st + REL_CHUNK],
                bonus[st : st + REL_CHUNK],
                unique[st : st + REL_CHUNK],
                same_anchor[st : st + REL_CHUNK],
                moved[st : st + REL_CHUNK],
                labels,
                placed[st : st + REL_CHUNK],
            )
            for st in range(0, len(i), REL_CHUNK)
        ]
        ne = Edges.concat([x[0] for x in kept])
        bonus = np.concatenate([x[1] for x in kept])
        same_anchor = np.concatenate([x[2] for x in kept])
        del kept
        if len(ne.i) and cannot_count(ci) and spec.rel_skip_ambiguous:
            # each endpoint's candidate persons, its own current person included (a pair
            # kept apart for review is no candidate link)
            li, lj = ne.i[ne.kept == 0], ne.j[ne.kept == 0]
            ends = np.concatenate([li, lj, li, lj])
            cand = np.concatenate([labels[lj], labels[li], labels[li], labels[lj]])
            d = pd.DataFrame({"e": ends, "c": cand}).drop_duplicates()
            d = d[d.groupby("e")["c"].transform("size").to_numpy() >= 2]
            if not d.empty:
                m = d.merge(d, on="e")
                m = m[m["c_x"].to_numpy() < m["c_y"].to_numpy()]
                clash = kept_apart(labels, ci, cj, m["c_x"].to_numpy(), m["c_y"].to_numpy())
                bad = unique_sorted(m["e"].to_numpy()[clash])
                ok = ~(isin(ne.i, bad) | isin(ne.j, bad)) | (ne.kept > 0)
                ne, bonus, same_anchor = ne.take(ok), bonus[ok], same_anchor[ok]
        ne.method = np.where(same_anchor, "relationship", "relationship:household").astype(object)
        return ne, bonus

    def _relationship_links(
        self,
        scorer: Scorer,
        i: np.ndarray,
        j: np.ndarray,
        bonus: np.ndarray,
        unique: np.ndarray,
        same_anchor: np.ndarray,
        moved: np.ndarray,
        labels: np.ndarray | None = None,
        placed: np.ndarray | None = None,
    ) -> tuple[Edges, np.ndarray, np.ndarray]:
        """Relationship candidates ``(i, j)`` scored with their bonus: the auto-level,
        compatible ones as edges, with their bonus and whether they share an anchor."""
        spec = self.spec
        k_pc = scorer.k_pc
        sp = scorer.score(i, j)
        lv = sp.levels.levels
        if moved.any():
            # compared as if recorded at the anchor's (old) address: the comparison with
            # her own (new) address is replaced by the postcode's exact weight
            bonus = _uncounted(bonus, sp.comp_weights, moved, (k_pc, scorer.k_addr))
        if placed is not None and placed.any():
            # 23-recall12: a child's mother recorded by two agencies at two of the child's
            # own addresses (each at the child's address as it knows it): the postcode and
            # address disagreement is the child's, not evidence of two women
            bonus = _uncounted(
                bonus, sp.comp_weights, placed, (k_pc, scorer.k_addr), against_only=True
            )
        fn_ok = scorer._label_in(lv, scorer.k_fn, spec.rel_forename_levels)
        # a child has one mother: two "mother of" mentions of one child are one woman
        # whatever forename each agency wrote (Ola / Aleksandra), unless evidence clashes
        fn_ok = fn_ok | unique
        # a birth date or a sex that disagrees: two people (a sibling, a namesake)
        parted = scorer._is_else(lv, scorer.k_dob) | scorer._is_else(lv, scorer.k_sex)
        if spec.rel_forename_typo and scorer.k_fn is not None:
            # 15: two mentions in one relationship to one person whose forenames are
            # one keying slip apart ("Peet" / "Peter" via Pete, "Emna" / "Emma", a prison
            # visitor's "Jsyne" / "Jayne"), one of them a name nobody is called (the
            # household guard's misspelling test), name one relative, not two siblings;
            # a birth date that disagrees (a sibling's) still parts them
            look = np.flatnonzero(same_anchor & ~fn_ok & ~parted)
            if len(look):
                typo = scorer.comparer.nickname_typo(
                    i[look],
                    j[look],
                    spec.guard_nickname_typo or 1.0,
                    max(spec.guard_nickname_typo_edits, 1),
                )
                fn_ok[look[typo]] = True
        sn_ok = scorer._label_in(lv, scorer.k_sn, spec.rel_surname_levels)
        changed = np.zeros(len(i), bool)
        if spec.rel_unique_surname_change and scorer.k_sn is not None and scorer.k_fn is not None:
            # 23-recall12: a child has one mother.  Two mentions stated as its mother by
            # two agencies, with her forename, under two surnames (the school's under
            # the child's and her married name, the hospital's under her maiden name)
            # are one woman who changed her name: the surnames' disagreement is no
            # evidence of two women, and its weight is not counted
            changed = (
                unique
                & scorer._label_in(lv, scorer.k_fn, spec.rel_unique_surname_change)
                & ~sn_ok
                & (lv[:, scorer.k_sn] >= 0)
            )
            if changed.any():
                bonus = _uncounted(
                    bonus, sp.comp_weights, changed, (scorer.k_sn,), against_only=True
                )
        if spec.rel_surname_change:
            fn_exact = lv[:, scorer.k_fn] == 0
            sn_ok = sn_ok | (same_anchor & fn_exact)
        sn_ok |= changed
        compat = fn_ok & sn_ok & ~sp.cannot
        if spec.rel_parted_dates:
            # 23-recall12: two mentions of one anchor (two children of one mother)
            # whose birth dates disagree beyond every keying slip the date comparison
            # knows, or whose sexes disagree, are two people (siblings), however alike
            # their names ("Andre", 2018, and "Andrew", 2021, at one address): the
            # rounds' bonus does not outweigh that
            compat &= ~parted
        # 16-visible6: a candidate a reviewable guard alone keeps apart (``sp.kept``: no
        # hard rule) is still a possible match: held as a kept edge, never a link
        held = np.zeros(len(i), np.int8)
        if spec.rel_review_guarded:
            # ...unless its birth dates or sexes disagree: then the guard's question (one
            # person, the name order swapped?) is answered, and the bonus alone made it a
            # match ("Rita Alexander", 2011, beside the baby "Alexander Alexander")
            held = np.where(fn_ok & sn_ok & sp.cannot & ~parted, sp.kept, 0).astype(np.int8)
        if spec.rel_household_guard and k_pc is not None:
            # spec v13: compared as if recorded at the anchor's address, she meets the
            # household guard there too: "Ben Barry, born 1982", a father recorded without
            # an address, is not his namesake son born 2003 at the family's address
            hh = np.flatnonzero(~same_anchor & compat)
            if len(hh):
                at_home = lv[hh].copy()
                at_home[:, k_pc] = 0
                hard, soft = scorer.guard(
                    PairLevels(i=i[hh], j=j[hh], levels=at_home, tf_values={})
                )
                compat[hh[hard | (soft > 0)]] = False
                if spec.rel_review_guarded:
                    only_soft = ~hard & (soft > 0) & ~parted[hh]
                    held[hh[only_soft]] = soft[only_soft]
        gen = scorer._gen
        if spec.rel_household_suffix_review and gen is not None and scorer.k_dob is not None:
            # 16-alike6: a generation suffix on one record only says the family has two
            # men of the name; met only at the anchor's address (no shared anchor), an
            # undated suffixed record cannot say which of them the other is: "Luke
            # Patterson Sr", a hospital's "father of" without an address, is not surely
            # the family's "Luke Ian Patterson" (born 2002), his namesake son.  (A dated
            # "Snr" record is told by its date, and an undated "Jan Szymanski, father
            # of" beside it is left to the age bounds.)
            ga, gb = gen[i] != None, gen[j] != None  # noqa: E711 (object array)
            y = scorer.comparer.s["dob_y"].to_numpy()
            bare_sr = (ga & ~gb & (y[i] < 0)) | (gb & ~ga & (y[j] < 0))
            hs = np.flatnonzero(~same_anchor & compat & bare_sr)
            if len(hs):
                # ...unless the dated one has his Junior at his address: a namesake born a
                # generation after him ("Ian Tucker", 1981, and "Ian Tucker", 2005): then
                # he is the Senior the suffix names
                hs = hs[~self._has_junior(scorer, np.where(ga[hs], j[hs], i[hs]), labels)]
            if len(hs):
                compat[hs] = False
                name = "generation_suffix_one_side"
                if spec.rel_review_guarded and name in spec.guard_reviewable:
                    ok = ~parted[hs]
                    held[hs[ok]] = 1 + spec.guard_reviewable.index(name)
        sp.weight = sp.weight + bonus
        sp.probability = np.where(compat | (held > 0), 1.0 / (1.0 + np.exp2(-sp.weight)), 0.0)
        if held.any():
            sp.cannot = sp.cannot | (held > 0)
            sp.kept = held
        ne = self._edges_from(sp, keep_all=True)
        link = ~ne.cannot | (ne.kept > 0)  # (a kept pair: a possible match, not a link)
        keep = (ne.prob >= spec.auto) & link & (ne.method == "probabilistic")
        return ne.take(keep), bonus[keep], same_anchor[keep]

    def _has_junior(
        self, scorer: Scorer, rec: np.ndarray, labels: np.ndarray | None = None
    ) -> np.ndarray:
        """Per record, whether a dated record of its person (itself, without ``labels``)
        has a namesake (its recorded forename and surname) born ``generation_gap`` or more
        years after it recorded at its postcode: his Junior."""
        out = np.zeros(len(rec), bool)
        cmp = scorer.comparer
        y = cmp.s["dob_y"].to_numpy()
        pc = cmp.s["pc"].to_numpy(object)
        fn, sn = cmp.rec_codes["fn"], cmp.rec_codes["sn"]
        k = np.arange(len(rec))
        who = rec
        if labels is not None:
            # each record's person's dated members
            lab = labels[rec]
            dated = np.flatnonzero(isin(labels, unique_sorted(lab)) & (y >= 0))
            mem = pd.DataFrame({"lab": labels[dated], "who": dated})
            q = pd.DataFrame({"k": k, "lab": lab}).merge(mem, on="lab")
            k, who = q["k"].to_numpy(), q["who"].to_numpy(np.int64)
        ok = (y[who] >= 0) & (fn[who] >= 0) & (sn[who] >= 0) & pd.notna(pc[who])
        if not ok.any():
            return out
        at = cmp.records_at("pc", self.spec.max_block_size)
        q = pd.DataFrame({"k": k[ok], "pc": pc[who[ok]], "a": who[ok]})
        m = q.merge(at, on="pc")
        a = m["a"].to_numpy(np.int64)
        b = m["other"].to_numpy(np.int64)
        gap = max(self.spec.rel_generation_gap, 1)
        hit = (fn[a] == fn[b]) & (sn[a] == sn[b]) & (y[b] >= y[a] + gap)
        out[m["k"].to_numpy()[hit]] = True
        return out

    def _household_pairs(
        self, scorer: Scorer, rels: pd.DataFrame, pos_map: Positions, labels: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs (relative without address, or at another of the anchor's postcodes with
        ``household_moves``; mention at one of her anchor's postcodes), and per pair
        whether it is such a move (the relative has an address of her own)."""
        groups = self.spec.rel_household_groups
        z = np.empty(0, np.int64)
        if not groups:
            return z, z, np.empty(0, bool)
        s = scorer.comparer.s
        pc = s["pc"].to_numpy(object)
        hh = household_postcodes(
            rels, pos_map, labels, pc, groups, moves=self.spec.rel_household_moves
        )
        if hh.empty:
            return z, z, np.empty(0, bool)
        at = scorer.comparer.records_at("pc", self.spec.max_block_size)
        m = hh.merge(at, on="pc")
        a = m["rec"].to_numpy(np.int64)
        b = m["other"].to_numpy(np.int64)
        # names must start alike (the compatibility test after scoring is stricter)
        like = np.ones(len(a), bool)
        for col in ("sn", "fn"):
            first = scorer.comparer.rec_first[col]
            like &= (first[a] == first[b]) & (first[a] != "")
        keep = like & (labels[a] != labels[b])
        a, b = a[keep], b[keep]
        mv = m["moved"].to_numpy(bool)[keep]
        if not len(a):
            return z, z, np.empty(0, bool)
        n = len(labels)
        raw = np.minimum(a, b) * n + np.maximum(a, b)
        code = unique_sorted(raw)
        moved = isin(code, unique_sorted(raw[mv]))
        return code // n, code % n, moved

    def _plausible_parent_years(
        self, prep: Prepared, labels: np.ndarray
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Birth years, and the latest plausible birth year from stated parent roles."""
        spec = self.spec
        if prep.rels is None or spec.typical_parent_gap <= 0:
            return None, None
        years = prep.s["dob_y"].to_numpy()
        _, hi = year_bounds(
            prep.rels,
            prep.pos,
            years,
            spec.typical_parent_gap,
            labels,
            gap2=spec.rel_grandparent_gap,  # the plausibility test is for parents only
        )
        return years, hi

    # ----------------------------------------------------------------- outputs
    def _assignments(
        self,
        keys: np.ndarray,
        labels: np.ndarray,
        pids: list[str],
        e: Edges,
        breakdowns: bool,
    ) -> pd.DataFrame:
        n = len(keys)
        same = (labels[e.i] == labels[e.j]) & ~e.cannot
        idx = np.flatnonzero(same)
        # each record's best edge: lowest priority, then highest weight, then the first
        # (a stable sort of both ends' rows; arrays, not a frame sorted and copied whole)
        rec = np.concatenate([e.i[idx], e.j[idx]])
        edge = np.concatenate([idx, idx])
        del idx
        order = np.lexsort((-e.weight[edge], e.priority[edge], rec))
        rec, edge = rec[order], edge[order]
        first = np.r_[True, rec[1:] != rec[:-1]] if len(rec) else np.zeros(0, bool)
        r, ed = rec[first], edge[first]
        del rec, edge, order, first
        other = np.where(e.i[ed] == r, e.j[ed], e.i[ed])
        method = np.full(n, "singleton", dtype=object)
        prob = np.full(n, np.nan)
        partner = np.full(n, None, dtype=object)
        bd = np.full(n, None, dtype=object)
        method[r] = e.method[ed]
        prob[r] = e.prob[ed]
        partner[r] = keys[other]
        if breakdowns and len(ed):
            # most best edges are the best of both their ends: one (read-only) dict each
            uniq, inv = np.unique(ed, return_inverse=True)
            half = len(uniq) // 2
            if self._parallel(2 * half):
                # a forked process builds the second half of the breakdown dicts
                rest = self._fork(lambda: self._bds(e, uniq[half:]))
                made = self._bds(e, uniq[:half]) + rest()
            else:
                made = self._bds(e, uniq)
            bd[r] = [made[k] for k in inv.tolist()]
        sizes = np.bincount(labels, minlength=n)
        multi = sizes[labels] > 1
        # split clusters can leave members whose support is the cluster average
        method[multi & (method == "singleton")] = "probabilistic"
        status = np.where(
            ~multi, "singleton", np.where(method == "steward", "reviewed", "auto")
        ).astype(object)
        prob[~multi] = np.nan
        return pd.DataFrame(
            {
                "key": keys,
                "person_id": pids,
                "method": method,
                "probability": prob,
                "status": status,
                "partner_key": partner,
                "breakdown": bd,
            }
        )

    def alias_evidence(
        self, comparer: Comparer, levels: np.ndarray, i: np.ndarray, j: np.ndarray
    ) -> np.ndarray:
        """Pairs where a stated alias surname, the forename and the birth date agree.

        One record's surname is an alias (or former surname) the other record states
        (:meth:`Comparer.alias_surname`), the date of birth agrees at one of the spec's
        ``alias_dob_levels`` (exact or a typo's worth), the forename agrees at some level
        and the sex is not known to differ.  Spec v10: the recorded surnames must differ
        beyond a typo (``alias_distinct_surnames_jw``) and, spec 21-alike10, beyond a
        vowel's transliteration (``alias_distinct_surnames_vowels``), and the alias must not be the
        name its holder is recorded under at his own postcode (``alias_home_check``).

        Args:
            comparer: the run's comparer.
            levels: comparison levels of the pairs (spec order).
            i, j: record positions of the pairs.

        Returns:
            A boolean per pair.
        """
        spec = self.spec
        names = spec.names
        out = np.zeros(len(i), bool)
        if not len(i) or "dob" not in names or "forename" not in names:
            return out
        ok_dob = spec.comparison("dob").codes(spec.alias_dob_levels)
        kd, kf = names.index("dob"), names.index("forename")
        fn_levels = len(spec.comparison("forename").levels)
        cand = isin(levels[:, kd].astype(np.int64), ok_dob)
        cand &= (levels[:, kf] >= 0) & (levels[:, kf] < fn_levels)
        if "sex" in names:
            ks = names.index("sex")
            cand &= levels[:, ks] != len(spec.comparison("sex").levels)  # not "else"
        if spec.alias_dob_no_decade_slip and cand.any():
            cand &= ~decade_slip(comparer.s, i, j)
        if cand.any():
            out[cand] = comparer.alias_surname(
                i[cand],
                j[cand],
                home_check=spec.alias_home_check,
                distinct_jw=spec.alias_distinct_surnames_jw,
                distinct_vowels=spec.alias_distinct_surnames_vowels,
                home_jw=spec.alias_home_check_jw,
                home_own_dob=spec.alias_home_check_own_dob,
            )
        return out

    def _alias_surname_bits(
        self,
        comparer: Comparer,
        model: Model,
        sp: ScoredPairs,
        labels: np.ndarray,
        stated: np.ndarray | None = None,
    ) -> np.ndarray:
        """Per pair, the bits that make a surname the person states elsewhere an exact one.

        Zero for every pair unless ``alias_corroborates`` is on and the pair's surnames
        differ where one is an alias (or former surname) stated by a record of the same
        cluster (:meth:`Comparer.person_alias_surname`).
        """
        out = np.zeros(len(sp.weight), np.float64)
        names = self.spec.names
        if not self.spec.alias_corroborates or "surname" not in names:
            return out
        k = names.index("surname")
        lv = sp.levels.levels[:, k]
        todo = np.flatnonzero(lv != 0)
        if not len(todo):
            return out
        hit = comparer.person_alias_surname(sp.levels.i[todo], sp.levels.j[todo], labels, stated)
        rows = todo[hit]
        exact = float(model.params[k].weights()[0])
        out[rows] = exact - sp.comp_weights[rows, k]
        return out

    def corroboration(
        self, prep: Prepared, levels: np.ndarray, i: np.ndarray, j: np.ndarray
    ) -> list[list[str]]:
        """What, beyond a shared name and birth date, says two records are one person.

        Evidence kinds: ``alias`` (see :meth:`alias_evidence`), ``identifier`` (an
        identifier agrees exactly), ``address`` (same postcode sector or address) and
        ``relative`` (both records name the same relative).  A common name alone gives
        none: that is what keeps possible matches of strangers out of the flags.

        Args:
            prep: the run's prepared records.
            levels: comparison levels of the pairs (spec order).
            i, j: record positions of the pairs.

        Returns:
            The evidence kinds per pair (sorted; empty when none).
        """
        spec = self.spec
        kinds: list[tuple[str, np.ndarray]] = [
            ("alias", self.alias_evidence(prep.comparer, levels, i, j))
        ]
        ident = np.zeros(len(i), bool)
        place = np.zeros(len(i), bool)
        for k, c in enumerate(spec.comparisons):
            if c.kind == "identifier":
                ident |= levels[:, k] == 0
            elif c.kind == "postcode_uk":
                place |= (levels[:, k] >= 0) & (levels[:, k] <= min(1, len(c.levels) - 1))
            elif c.name == "address":
                place |= (levels[:, k] >= 0) & (levels[:, k] < len(c.levels))
        kinds += [("identifier", ident), ("address", place)]
        # (relatives of the pairs' records only: names coded for them, not for every record)
        kin = kin_table(prep.s, prep.rels, only=np.concatenate([i, j]))
        kinds.append(("relative", share_kin(kin, i, j, None)))
        out: list[list[str]] = [[] for _ in range(len(i))]
        for name, mask in kinds:
            for x in np.flatnonzero(mask).tolist():
                out[x].append(name)
        return out

    def _bd(self, e: Edges, k: int, scorer: Scorer) -> dict:
        return self._bds(e, np.array([k]))[0]

    def _bds(self, e: Edges, ks: np.ndarray) -> list[dict]:
        """Weight breakdowns ``{comparison: {level, weight}}`` of edges ``ks`` (batched).

        Made ``BREAKDOWN_CHUNK`` edges at a time: as lists of Python numbers one edge's
        levels and weights cost ~0.6 KB, ~1 GB for the best edges of 1.29M mentions at once.
        """
        names = self.spec.names
        tables = [c.labels + ["missing"] for c in self.spec.comparisons]  # -1 → "missing"
        prior_w = round(self.model.prior_weight, 3)
        out: list[dict] = []
        # leaf dicts are shared between breakdowns (one per comparison, level and weight),
        # and so are whole breakdowns of equal edges (most best edges of a large run
        # repeat another's levels and weights): breakdowns are read-only results. Equal
        # edges are found by the bytes of their levels and rounded weights.
        leaf: dict[tuple[int, int, float], dict] = {}
        whole: dict[tuple[Any, ...], dict] = {}
        ks_ = range(len(names))
        for lo in range(0, len(ks), BREAKDOWN_CHUNK):
            part = ks[lo : lo + BREAKDOWN_CHUNK]
            lv = np.ascontiguousarray(e.levels[part])
            cw = e.comp_w[part].astype(np.float64)
            w = np.round(cw, 3)
            method = e.method[part].tolist()
            rest = e.weight[part] - cw.sum(axis=1) - self.model.prior_weight
            ssw = same_source_weights(
                self._src_codes,
                self.model,
                self.spec,
                e.i[part],
                e.j[part],
                e.levels[part],
                self._own_ids,
            )
            rest = rest - ssw
            same_a = self._same_index(e.i[part], e.j[part])
            # 17-within7: a second registration its index's search missed (its weight
            # may be 0, and the pair is still one index's)
            sm_a = np.zeros(len(part), bool)
            if self.spec.search_miss_weight is not None:
                sm_a |= same_a & search_miss(self.spec, lv)
            if self.spec.untraced_weight is not None and self._own_ids is not None:
                # 19-within8: an untraced registration beside the traced one, likewise
                own = self._own_ids
                sm_a |= same_a & untraced(self.spec, lv, own[e.i[part]], own[e.j[part]])
            sm = sm_a.tolist()
            same = same_a.tolist()
            hh = np.round(rest, 3).tolist()
            ss_l = np.round(ssw, 3).tolist()
            lv_b = _row_bytes(lv)
            w_b = _row_bytes(w)
            for x, m in enumerate(method):
                # (a household weight of -0.0 writes differently from 0.0: its text decides)
                h = hh[x]
                seen = (
                    lv_b[x], w_b[x], m, repr(h) if m == "relationship:household" else None,
                    ss_l[x], same[x], sm[x],
                )  # fmt: skip
                d = whole.get(seen)
                if d is not None:
                    out.append(d)
                    continue
                d = whole[seen] = {}
                for k, lx, y in zip(ks_, lv[x].tolist(), w[x].tolist(), strict=True):
                    key = (k, lx, y)
                    v = leaf.get(key)
                    if v is None:
                        v = leaf[key] = {"level": tables[k][lx], "weight": y}
                    d[names[k]] = v
                if m == "relationship":
                    d["relationship"] = {"level": "same_anchor", "weight": self.spec.rel_weight}
                elif m == "relationship:household":
                    d["relationship"] = {"level": "household", "weight": h}
                sw = ss_l[x]
                if sw or sm[x]:
                    # within one system's index, or across two (learned: a small bonus);
                    # a search miss's is listed at its weight (0 as shipped): the
                    # within-system filter and the duplicates export read this step
                    level = "same_master_index" if same[x] else "other_master_index"
                    d["same_source"] = {"level": level, "weight": sw}
                d["prior"] = {"level": "prior", "weight": prior_w}
                out.append(d)
        return out

    def _review(
        self, keys: np.ndarray, labels: np.ndarray, e: Edges, prep: Prepared
    ) -> pd.DataFrame:
        # between `review` and `auto`, and links at `auto` or above that v5's rules kept
        # apart (the place gate, an ambiguous name-only mention): a steward decides those.
        # A strong pair kept apart by a cannot-link elsewhere in one of the persons (the
        # person already holds another record of that master index) is not queued, as
        # before v5: the constraint, not a judgement, decided it.  A pair a reviewable
        # guard keeps apart is queued at any score from `review` up, the guard its reason.
        # Pairs of one master index are queued from the spec's lower `within_index_review`
        # (the agency's duplicates; see `_index_band`), with that as their reason.
        soft = e.kept > 0
        band = self._index_band(e.i, e.j, e.prob)
        sel = np.flatnonzero(
            ((e.prob >= self.spec.review) | band)
            & (e.priority == PRIORITY_SCORED)
            & (~e.cannot | soft)
            & (labels[e.i] != labels[e.j])
        )
        guarded = soft[sel]
        strong = (e.prob[sel] >= self.spec.auto) & ~guarded
        why = np.full(len(sel), None, dtype=object)
        if guarded.any():
            names = np.array(("",) + self.spec.guard_reviewable, dtype=object)
            why[guarded] = names[e.kept[sel[guarded]]]
        if strong.any():
            k = np.flatnonzero(strong)
            why[k] = _kept_apart_reasons(labels, e.i[sel[k]], e.j[sel[k]], prep)
            keep = ~strong | (why != reasons.CONFLICTING)
            if self.spec.review_conflicting != "none":
                # (the spec's `review_conflicting`: queued all the same, all or one index's)
                if self.spec.review_conflicting == "all":
                    keep[:] = True
                else:
                    keep |= self._same_index(e.i[sel], e.j[sel])
            sel, why = sel[keep], why[keep]
        bds = self._bds(e, sel) if len(sel) else []
        for x in np.flatnonzero(why != None).tolist():  # noqa: E711 (object array)
            # why a pair that scores as a match was kept apart: a zero-weight step in the
            # steward's waterfall
            bds[x] = {**bds[x], "kept_apart": {"level": why[x], "weight": 0.0}}
        # below `auto`, the model itself is unsure
        reason = np.where(why == None, REVIEW_UNCERTAIN, why)  # noqa: E711 (object array)
        reason[band[sel]] = REVIEW_WITHIN_INDEX
        return pd.DataFrame(
            {
                "key_a": keys[e.i[sel]],
                "key_b": keys[e.j[sel]],
                "probability": e.prob[sel],
                "weight": e.weight[sel],
                "breakdown": bds,
                "reason": reason.astype(object),
                "evidence": self.corroboration(prep, e.levels[sel], e.i[sel], e.j[sel]),
            }
        )

    # ----------------------------------------------------------------- explain
    def explain_pair(
        self, rec_a: Mapping[str, Any], rec_b: Mapping[str, Any], model: Model | None = None
    ) -> Explanation:
        """Why (or why not) two mentions are the same person.

        Args:
            rec_a, rec_b: mentions as input-contract dicts.
            model: the model to use (default: the engine's last fitted/used model).

        Returns:
            Per-comparison level, m, u, weight and TF adjustment, the rule outcomes, the
            total weight and the probability.
        """
        model = model or self.model
        if model is None:
            raise ValueError("no model: fit or link first, or pass a model")
        a, b = dict(rec_a), dict(rec_b)
        a.setdefault("key", "a")
        b.setdefault("key", "b")
        if a["key"] == b["key"]:
            b["key"] = f"{b['key']}#2"
        df = pd.DataFrame([a, b])
        comparer = self._prepare(df, None, _model_pairs(model)).comparer
        scorer = Scorer(comparer, model, self.spec)
        sp = scorer.score(np.array([0]), np.array([1]))
        return explain_scored(sp, 0, model, self.spec)

    # ----------------------------------------------------------------- scoped clustering
    # An incremental run re-clusters only the region a delta can reach (see
    # `cpgraph.linkage.scope`) and keeps the persons of the rest as the last run left
    # them; when the region cannot be shown closed it clusters everything as before.
    def _clustered(
        self,
        prep: Prepared,
        scored: ScoreResult,
        decisions: Decisions,
        state: LinkState | None,
        steward: list[tuple[str, str, str]],
        previous_ids: Mapping[str, str] | None,
        timings: dict[str, float],
    ) -> tuple[ClusterResult, np.ndarray, int, dict[str, Any]]:
        """Clustering and cohesion: scoped to a region when ``state`` allows, else full.

        Returns:
            The clustering, the final labels, the clusters split by cohesion and what the
            run says about its scope (``scoped``, ``region``, ``scope_fallback``).
        """
        t1 = time.perf_counter()
        info: dict[str, Any] = {"scoped": False, "region": len(prep.s), "scope_fallback": ""}
        got = None
        if state is not None:
            got = incremental.scoped_run(
                self.spec,
                prep,
                scored,
                decisions,
                state,
                steward,
                previous_ids,
                info,
                self._cluster_stage,
                self._cohesion_stage,
                # 21-within10: a pair below `auto` a household's move may let in
                below_auto=(
                    partial(self.index_move_candidates, places=prep.places)
                    if prep.places is not None
                    else None
                ),
            )
        if got is not None:
            clustered, labels, n_split, bounds = got
            timings["cluster"] = time.perf_counter() - t1
            timings["cohesion"] = 0.0
        else:
            # (a scoped attempt may have moved the scorer's year bounds: start afresh)
            scored.scorer.set_year_bounds(prep.year_lo, prep.year_hi)
            clustered = self._cluster_stage(prep, scored, decisions)
            release_free_memory()
            timings["cluster"] = time.perf_counter() - t1
            t1 = time.perf_counter()
            labels, n_split = self._cohesion_stage(prep, scored, decisions, clustered)
            release_free_memory()
            timings["cohesion"] = time.perf_counter() - t1
            bounds = incremental.final_bounds(scored.scorer)
        # (seconds are not a run's outcome: they go with the timings, not the summary)
        for k, v in info.pop("scope_seconds", {}).items():
            timings[f"scope_{k}"] = v
        t1 = time.perf_counter()
        groups = info.pop("groups", None)
        info["state"] = incremental.scope_state(
            prep, scored, clustered, labels, steward, bounds, groups
        )
        timings["scope"] = time.perf_counter() - t1
        return clustered, labels, n_split, info


def remove_spill(files: Mapping[str, Path] | None) -> None:
    """Delete a run's spill files (a memory map of one stays valid until dropped)."""
    for path in (files or {}).values():
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def remove_stale_spill(folder: Path) -> int:
    """Delete the spill files that runs no longer alive left in ``folder`` (a run killed
    before it could); returns how many. A live process's files are left alone."""
    gone = 0
    for path in folder.glob(f"{SPILL_PREFIX}*.npy"):
        pid = path.name[len(SPILL_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and psutil.pid_exists(int(pid)):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            gone += 1
    return gone


def _row_bytes(a: np.ndarray) -> list[bytes]:
    """Each row of the 2-D array ``a`` as one bytes object (equal rows, equal bytes)."""
    a = np.ascontiguousarray(a)
    if a.ndim != 2 or a.shape[1] == 0:
        return [b""] * len(a)
    return a.view(np.dtype((np.void, a.shape[1] * a.itemsize))).ravel().tolist()
