"""Constrained clustering of scored pairs and stable person ids.

Edges are merged strongest first (steward LINKs, then deterministic identifier links,
then probabilistic and relationship links by weight) with a union–find that refuses any
merge joining two mentions under a cannot-link (different valid identifiers of one kind,
household look-alike guard, steward NO_LINK).  Clusters are then checked for cohesion:
when any two members carry conflicting evidence, the cluster is re-clustered by average
linkage over all its pairs, so a chain of weak links is split rather than over-merged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.typing import DataFrameGroupBy
from rapidfuzz.distance import OSA

from cpgraph.keys import format_person_id, person_id_counter
from cpgraph.linkage.arrays import isin, unique_sorted

PRIORITY_STEWARD, PRIORITY_DETERMINISTIC, PRIORITY_SCORED = 0, 1, 2


class _UnionFind:
    def __init__(self, n: int) -> None:
        # one int object per record, shared by every table below (the cannot-links held
        # here run to millions at a million mentions: a new int per entry was 28 bytes)
        self.ints: list[int] = list(range(n))
        # a list, not an array: this is walked one element at a time from Python
        self.parent: list[int] = list(self.ints)
        self.cannot: dict[int, dict[int, bool]] = {}

    def find(self, x: int) -> int:
        p = self.parent
        root = x
        while p[root] != root:
            root = p[root]
        while p[x] != root:
            p[x], x = root, p[x]
        return root

    def add_cannot(self, a: int, b: int, steward: bool) -> None:
        for x, y in ((a, b), (b, a)):
            r = self.find(x)
            d = self.cannot.setdefault(r, {})
            d[y] = d.get(y, False) or steward

    def conflict(self, ra: int, rb: int, steward_only: bool) -> bool:
        ca, cb = self.cannot.get(ra), self.cannot.get(rb)
        if not ca and not cb:
            return False
        # cannot-links are stored both ways: scanning the smaller side is enough
        if not ca or (cb and len(cb) < len(ca)):
            src, other = cb, ra
        else:
            src, other = ca, rb
        for y, is_steward in src.items():
            if (is_steward or not steward_only) and self.find(y) == other:
                return True
        return False

    def union(self, ra: int, rb: int) -> int:
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        cb = self.cannot.pop(rb, None)
        if cb:
            da = self.cannot.setdefault(ra, {})
            for y, s in cb.items():
                da[y] = da.get(y, False) or s
        return ra


def connected_components(n: int, ei: np.ndarray, ej: np.ndarray) -> np.ndarray:
    """Connected components, vectorised (min-label hooking with pointer jumping).

    Args:
        n: number of records.
        ei, ej: edge endpoints.

    Returns:
        Label per record: the smallest record position in its component.
    """
    lab = np.arange(n, dtype=np.int64)
    if not len(ei):
        return lab
    ei = np.asarray(ei, np.int64)
    ej = np.asarray(ej, np.int64)
    while True:
        li, lj = lab[ei], lab[ej]
        live = li != lj
        if not live.any():
            return lab
        li, lj = li[live], lj[live]
        lo, hi = np.minimum(li, lj), np.maximum(li, lj)
        np.minimum.at(lab, hi, lo)  # hook the larger root under the smaller label
        while True:  # pointer jumping until every record points at its root
            nxt = lab[lab]
            if np.array_equal(nxt, lab):
                break
            lab = nxt
        ei, ej = ei[live], ej[live]


def constrained_components(
    n: int,
    ei: np.ndarray,
    ej: np.ndarray,
    weight: np.ndarray,
    priority: np.ndarray,
    ci: Ends,
    cj: Ends,
    c_steward: Ends,
    *,
    gate: PlaceGate | None = None,
    years: GenerationGuard | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Union–find over edges strongest first, never joining across a cannot-link.

    Components that hold no cannot-link pair (and, with a ``gate``, no gated edge that
    could be refused) come out of a vectorised connected-components pass unchanged (the
    greedy order cannot matter there); only the others are replayed edge by edge,
    strongest first.

    With a :class:`PlaceGate`, a gated edge may not join two groups whose known places
    (postcode sectors) are disjoint unless the move is evidenced (see the class).  A
    same-name, same-date-of-birth stranger at another address is thus kept apart from a
    person whose every record is elsewhere, including through a member with no address.

    Args:
        n: number of records.
        ei, ej: edge endpoints.
        weight: edge weight (higher first within a priority).
        priority: 0 steward LINK, 1 deterministic, 2 scored.
        ci, cj: cannot-link pairs (an array each, or parts: see :func:`cannot_parts`).
        c_steward: which cannot-links are steward NO_LINKs (steward LINKs override
            machine cannot-links but not steward NO_LINKs); parts where ``ci`` has them.
        gate: the place gate (off when None).
        years: the generation guard (off when None): its edges never join two groups
            whose known birth years lie its ``gap`` or more years apart.

    Returns:
        Cluster label per record (the smallest record position in its cluster) and a
        boolean per edge telling whether its two ends ended in one cluster.
    """
    ei = np.asarray(ei, np.int64)
    ej = np.asarray(ej, np.int64)
    comp = connected_components(n, ei, ej)
    # only the cannot-links inside one component can refuse a merge: those are kept (in
    # the parts' order), the parts themselves never copied
    kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for a, b, s in zip(cannot_parts(ci), cannot_parts(cj), cannot_parts(c_steward), strict=True):
        # cannot-links index per-record arrays only: int32 ones are not copied to int64
        a, b = _positions(a), _positions(b)
        inside = same_label(comp, a, b)
        kept.append((a[inside], b[inside], np.asarray(s)[inside]))
    ci = np.concatenate([k[0] for k in kept]) if kept else np.empty(0, np.int64)
    cj = np.concatenate([k[1] for k in kept]) if kept else np.empty(0, np.int64)
    c_in = np.concatenate([k[2] for k in kept]) if kept else np.empty(0, bool)
    del kept
    bad = np.zeros(n, bool)
    bad[comp[ci]] = True
    use_gate = gate is not None and bool(np.any(gate.gated))
    if use_gate:
        assert gate is not None
        # a gated edge between two records of one known place can never be refused (the
        # groups share that place): only components with other gated edges are replayed
        pi, pj = gate.places[ei], gate.places[ej]
        may_refuse = gate.gated & ~((pi >= 0) & (pi == pj))
        bad |= gate.multi_place(comp) & _any_at(n, comp[ei[may_refuse]])
    if years is not None:
        # a component whose known birth years span a generation may need a guarded
        # edge refused: replayed
        bad |= years.spans(comp, n) & _any_at(n, comp[ei[years.edges]])
    if not bad.any():
        return comp, comp[ei] == comp[ej]
    members = np.flatnonzero(bad[comp])
    sel_e = np.flatnonzero(bad[comp[ei]])
    uf = _UnionFind(n)
    ints = uf.ints
    for st in range(0, len(ci), CANNOT_CHUNK):  # (Python ints a chunk at a time)
        for a, b, s in zip(
            ci[st : st + CANNOT_CHUNK].tolist(),
            cj[st : st + CANNOT_CHUNK].tolist(),
            c_in[st : st + CANNOT_CHUNK].tolist(),
            strict=True,
        ):
            uf.add_cannot(ints[a], ints[b], bool(s))
    at: dict[int, set[int]] = {}  # root → places of its members
    home: dict[int, set[int]] = {}  # root → places of its members' relatives
    seen: dict[int, set[int]] = {}  # root → places its members' relatives' names are at
    gated: list[bool] = []
    if use_gate:
        assert gate is not None
        gated = gate.gated.tolist()
        places = gate.places
        for r in members[places[members] >= 0].tolist():
            at[r] = {int(places[r])}
        if gate.home_ptr is not None:
            with_home = members[np.diff(gate.home_ptr)[members] > 0]
            for r in with_home.tolist():
                home[r] = gate.home_of(r)
        if gate.seen_ptr is not None:
            with_seen = members[np.diff(gate.seen_ptr)[members] > 0]
            for r in with_seen.tolist():
                seen[r] = gate.seen_of(r)
    born: dict[int, set[int]] = {}  # root → known birth years of its members
    guarded: list[bool] = []
    if years is not None:
        guarded = years.edges.tolist()
        known = members[years.years[members] >= 0]
        for r, y in zip(known.tolist(), years.years[known].tolist(), strict=True):
            born[r] = {y}
    order = sel_e[np.lexsort((-weight[sel_e], priority[sel_e]))]
    for k in order.tolist():
        ra, rb = uf.find(int(ei[k])), uf.find(int(ej[k]))
        if ra == rb:
            continue
        if uf.conflict(ra, rb, steward_only=bool(priority[k] == PRIORITY_STEWARD)):
            continue
        if (
            years is not None
            and guarded[k]
            and ra in born
            and rb in born
            and years.apart(born[ra], born[rb])
        ):
            continue
        if use_gate and gated[k]:
            assert gate is not None
            if not gate.allows(
                at.get(ra),
                at.get(rb),
                home.get(ra),
                home.get(rb),
                (ra, rb),
                seen.get(ra),
                seen.get(rb),
            ):
                continue
        root = uf.union(ra, rb)
        other = rb if root == ra else ra
        for d in (at, home, seen):
            moved = d.pop(other, None)
            if moved:
                d.setdefault(root, set()).update(moved)
        if other in born:
            born.setdefault(root, set()).update(born.pop(other))
    labels = comp.copy()
    labels[members] = np.fromiter(
        (uf.find(int(x)) for x in members.tolist()), np.int64, len(members)
    )
    return labels, labels[ei] == labels[ej]


@dataclass(frozen=True)
class GenerationGuard:
    """Birth years that keep generations apart in :func:`constrained_components`.

    Spec 19: a relationship link (same anchor, same role; a household member) joins two
    records never compared with each other's persons: "Ben Barry, father of" a 2022 baby
    on a hospital's record, born 1982, linked to the school's undated "Ben Barry, father
    of" the same child, whom the first round had put with his namesake son born 2003.
    The son's records and the father's hospital record were never a candidate pair, so
    no cannot-link stood between them. A guarded edge is refused when the two groups'
    known birth years are of two generations (:meth:`apart`: ``gap`` years, the spec's
    ``generation_guard_years``, with no keying slip between them): such a join is a
    father and his son, not one man.

    Attributes:
        years: per record, its birth year (-1: unknown).
        edges: per edge, whether the guard applies (the relationship links).
        gap: years apart that make two generations.
    """

    years: np.ndarray
    edges: np.ndarray
    gap: int

    def apart(self, a: set[int], b: set[int]) -> bool:
        """Whether two groups' known birth years are of two generations: no year of one
        lies within ``gap`` years of a year of the other or is a keying slip of it (one
        digit, or two adjacent digits swapped: "1919" for "1991"). A group whose own
        years hold a slip ("1991" and "1919", one woman) still joins a record of 1990."""
        return not any(abs(x - y) < self.gap or year_slip(x, y) for x in a for y in b)

    def spans(self, comp: np.ndarray, n: int) -> np.ndarray:
        """Per component label, whether its known birth years span ``gap`` or more."""
        known = self.years >= 0
        lo = np.full(n, np.iinfo(np.int64).max, np.int64)
        hi = np.full(n, np.iinfo(np.int64).min, np.int64)
        y = self.years[known].astype(np.int64)
        np.minimum.at(lo, comp[known], y)
        np.maximum.at(hi, comp[known], y)
        return (hi - lo) >= self.gap


def year_slip(a: int, b: int) -> bool:
    """Whether two years are one keying slip apart: one digit, or two adjacent digits
    swapped (the ``dob`` comparison's ``osa<=1``, on the four digits)."""
    return OSA.distance(f"{a:04d}", f"{b:04d}") <= 1


PLACE_PAIR_BASE = 1 << 31
# cannot-links are read a chunk at a time: at 1.29M mentions there are 21M of them, and
# each whole-length step over them (labels at both ends, pair codes) is a ~170 MB temporary
CANNOT_CHUNK = 2_000_000


# Cannot-link ends: one array, or a tuple of parts read in order as if concatenated. A
# run's scored cannot-links (21M at 1.29M mentions, 84 MB an end) are one part, the few
# others another: each round reads them where they are instead of copying them all.
Ends = np.ndarray | tuple[np.ndarray, ...]


def cannot_parts(x: Ends) -> tuple[np.ndarray, ...]:
    """The parts of cannot-link ends (an array is one part)."""
    return x if isinstance(x, tuple) else (x,)


def cannot_count(x: Ends) -> int:
    """How many cannot-links ``x`` holds ends of, over its parts."""
    return sum(len(p) for p in cannot_parts(x))


def same_label(labels: np.ndarray, ci: Ends, cj: Ends, chunk: int = CANNOT_CHUNK) -> np.ndarray:
    """``labels[ci] == labels[cj]``, without full-length temporaries of the labels."""
    out = np.empty(cannot_count(ci), bool)
    at = 0
    for a, b in zip(cannot_parts(ci), cannot_parts(cj), strict=True):
        for st in range(0, len(a), chunk):
            k = min(chunk, len(a) - st)
            np.equal(labels[a[st : st + k]], labels[b[st : st + k]], out=out[at : at + k])
            at += k
    return out


def kept_apart(
    labels: np.ndarray,
    ci: Ends,
    cj: Ends,
    qa: np.ndarray,
    qb: np.ndarray,
    chunk: int = CANNOT_CHUNK,
) -> np.ndarray:
    """Per pair of persons ``(qa, qb)`` (cluster labels), whether a cannot-link joins them.

    The same as testing the pairs against every cannot-link's pair of labels, but only
    the pairs asked about are held as a set: the cannot-links' own label pairs (as many
    as there are cannot-links, most between two different persons) are made a chunk at
    a time and only those asked about are kept.
    """
    n = len(labels)
    qa = np.asarray(qa, np.int64)
    qb = np.asarray(qb, np.int64)
    q = np.minimum(qa, qb) * n + np.maximum(qa, qb)
    if not len(q) or not cannot_count(ci):
        return np.zeros(len(q), bool)
    asked = unique_sorted(q)
    hits = []
    for a, b in zip(cannot_parts(ci), cannot_parts(cj), strict=True):
        for st in range(0, len(a), chunk):
            la = labels[a[st : st + chunk]].astype(np.int64, copy=False)
            lb = labels[b[st : st + chunk]].astype(np.int64, copy=False)
            code = np.minimum(la, lb) * n + np.maximum(la, lb)
            hits.append(code[isin(code, asked)])
    return isin(q, unique_sorted(np.concatenate(hits)))


def _positions(x: np.ndarray) -> np.ndarray:
    """Record positions as an integer array (int32 or int64 kept as they are)."""
    x = np.asarray(x)
    return x if x.dtype in (np.int32, np.int64) else x.astype(np.int64)


def _any_at(n: int, idx: np.ndarray) -> np.ndarray:
    out = np.zeros(n, bool)
    out[idx] = True
    return out


@dataclass
class PlaceGate:
    """Evidence a person moved, for joins between groups known at disjoint places.

    Attributes:
        places: place code per record (``-1`` unknown).
        gated: per edge, whether the gate applies to it (scored links; identifiers and
            steward decisions are never gated).
        home_ptr, home_val: per record (CSR), the places of its stated relatives and of
            the persons they resolved to: where the household has been seen.
        household: household id per record (see :func:`household_ids`), when moves are
            corroborated per household; then ``corroborated`` holds ``(household, pair)``.
        corroborated: place pairs ``min * PLACE_PAIR_BASE + max`` other people are known
            at both of (a household that moved together).
    """

    places: np.ndarray
    gated: np.ndarray
    home_ptr: np.ndarray | None = None
    home_val: np.ndarray | None = None
    corroborated: AbstractSet[Any] = frozenset()
    household: np.ndarray | None = None
    # 19-recall8: per record (CSR), where its stated relatives' full names are recorded
    # (:func:`~cpgraph.linkage.relationships.kin_namesake_places`); None: off
    seen_ptr: np.ndarray | None = None
    seen_val: np.ndarray | None = None

    def home_of(self, r: int) -> set[int]:
        """Places of record ``r``'s relatives (``home_ptr``/``home_val`` are CSR rows)."""
        if self.home_ptr is None or self.home_val is None:
            return set()
        return set(self.home_val[self.home_ptr[r] : self.home_ptr[r + 1]].tolist())

    def seen_of(self, r: int) -> set[int]:
        """Places where record ``r``'s stated relatives' full names are recorded."""
        if self.seen_ptr is None or self.seen_val is None:
            return set()
        return set(self.seen_val[self.seen_ptr[r] : self.seen_ptr[r + 1]].tolist())

    def allows(
        self,
        pa: set[int] | None,
        pb: set[int] | None,
        ha: set[int] | None,
        hb: set[int] | None,
        roots: tuple[int, int] = (-1, -1),
        sa: set[int] | None = None,
        sb: set[int] | None = None,
    ) -> bool:
        """Whether two groups (own places ``p*``, household places ``h*``) may join.

        A group with no address of its own (a relative recorded by name and date of
        birth only) is taken to be where its household is.  With ``household`` set, a
        place pair counts as corroborated only by a move of the household of one of the
        two groups (``roots``: a record of each).
        """
        ea, eb = pa or ha, pb or hb
        if not ea or not eb or not ea.isdisjoint(eb):
            return True
        if (ha and not eb.isdisjoint(ha)) or (hb and not ea.isdisjoint(hb)):
            return True
        # 19-recall8: a relative of one side is known by her full name where the other
        # side is recorded (the household moved; the relative's records need not be
        # linked).  Only the groups' own places: not where a placeless group is taken to be
        if (sa and pb and not pb.isdisjoint(sa)) or (sb and pa and not pa.isdisjoint(sb)):
            return True
        corr = self.corroborated
        if not corr:
            return False
        codes = [min(x, y) * PLACE_PAIR_BASE + max(x, y) for x in ea for y in eb]
        if self.household is None:
            return any(c in corr for c in codes)
        homes = {int(self.household[r]) for r in roots if r >= 0}
        return any((h, c) in corr for h in homes for c in codes)

    def multi_place(self, comp: np.ndarray) -> np.ndarray:
        """Per component label: whether its members are (effectively) at 2+ places."""
        places = self.places
        n = len(comp)
        has = places >= 0
        cs, ps = [comp[has]], [places[has]]
        if self.home_ptr is not None and self.home_val is not None:
            cnt = np.diff(self.home_ptr)
            placeless = np.flatnonzero(~has & (cnt > 0))
            if len(placeless):
                rows = np.repeat(placeless, cnt[placeless])
                starts = np.repeat(self.home_ptr[placeless], cnt[placeless])
                offs = np.arange(len(rows)) - np.repeat(
                    np.cumsum(cnt[placeless]) - cnt[placeless], cnt[placeless]
                )
                cs.append(comp[rows])
                ps.append(self.home_val[starts + offs])
        c, p = np.concatenate(cs), np.concatenate(ps)
        lo = np.full(n, np.iinfo(np.int64).max, np.int64)
        hi = np.full(n, -1, np.int64)
        np.minimum.at(lo, c, p)
        np.maximum.at(hi, c, p)
        return lo < hi


def corroborated_place_pairs(
    labels: np.ndarray,
    places: np.ndarray,
    min_groups: int = 2,
    max_places: int = 12,
    household: np.ndarray | None = None,
) -> set[Any]:
    """Place pairs that at least ``min_groups`` clusters of one household each span.

    A household that moves takes its members with it: the mother's, the children's and a
    partner's records each span the old and the new address.  A place pair spanned by two
    or more people of one household is a move; one spanned only by the cluster under
    test is not evidence of anything, and neither are two unrelated people who happen to
    span two neighbouring postcode sectors (at 20,000 households that happens).

    Args:
        labels: cluster label per record (a first clustering, before the place gate).
        places: place code per record (``-1`` unknown).
        min_groups: clusters needed to corroborate a pair.
        max_places: clusters at more places than this are ignored (chains, not moves).
        household: household id per record (see :func:`household_ids`); None: any
            clusters count together.

    Returns:
        Codes ``min * PLACE_PAIR_BASE + max`` of the corroborated pairs; with
        ``household``, ``(household, code)`` tuples: the move is that household's.
    """
    has = places >= 0
    hh = household[has] if household is not None else np.zeros(int(has.sum()), np.int64)
    df = pd.DataFrame({"lab": labels[has], "pl": places[has], "hh": hh}).drop_duplicates(
        ["lab", "pl"]
    )
    cnt = df["lab"].map(df["lab"].value_counts())
    df = df[(cnt >= 2) & (cnt <= max_places)]
    if df.empty:
        return set()
    pairs = df.merge(df[["lab", "pl"]], on="lab")
    pairs = pairs[pairs["pl_x"] < pairs["pl_y"]]
    code = pairs["pl_x"].to_numpy(np.int64) * PLACE_PAIR_BASE + pairs["pl_y"].to_numpy(np.int64)
    per = pd.DataFrame({"code": code, "hh": pairs["hh"].to_numpy(), "lab": pairs["lab"].to_numpy()})
    groups = per.groupby(["hh", "code"])["lab"].nunique()
    found = groups[groups >= min_groups].index
    if household is None:
        return set(found.get_level_values("code").tolist())
    hh_codes = found.get_level_values("hh").tolist()
    return set(zip(hh_codes, found.get_level_values("code").tolist(), strict=True))


def household_ids(labels: np.ndarray, rel_from: np.ndarray, rel_to: np.ndarray) -> np.ndarray:
    """Per record, its household: clusters joined by stated relationships.

    Args:
        labels: cluster label per record (labels are record positions).
        rel_from, rel_to: record positions of each stated relationship's two ends.

    Returns:
        A household id per record (the smallest label in its household).
    """
    comp = connected_components(len(labels), labels[rel_from], labels[rel_to])
    return comp[labels]


def average_linkage(w: np.ndarray, threshold: float) -> np.ndarray:
    """Average-linkage agglomeration of one cluster's members.

    Args:
        w: symmetric ``(k, k)`` pair weights (bits); ``-inf`` marks a cannot-link.
        threshold: merge two groups only while their average weight is at least this.

    Returns:
        Group label per member (0..g-1).
    """
    k = len(w)
    groups: list[list[int]] = [[x] for x in range(k)]
    sums = np.where(np.isfinite(w), w, 0.0).astype(np.float64)
    banned = ~np.isfinite(w)
    sizes = np.ones(k)
    alive = np.ones(k, bool)
    np.fill_diagonal(banned, True)
    while True:
        avg = sums / np.outer(sizes, sizes)
        avg[banned | ~alive[:, None] | ~alive[None, :]] = -np.inf
        a, b = np.unravel_index(int(np.argmax(avg)), avg.shape)
        if not np.isfinite(avg[a, b]) or avg[a, b] < threshold:
            break
        groups[a].extend(groups[b])
        groups[b] = []
        sums[a, :] += sums[b, :]
        sums[:, a] += sums[:, b]
        banned[a, :] |= banned[b, :]
        banned[:, a] |= banned[:, b]
        banned[a, a] = True
        sizes[a] += sizes[b]
        alive[b] = False
    out = np.empty(k, np.int64)
    g = 0
    for grp in groups:
        if grp:
            out[grp] = g
            g += 1
    return out


@lru_cache(maxsize=512)
def _upper_pairs(k: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.triu_indices(k, 1)``, kept: clusters come in few sizes, and there are many."""
    return np.triu_indices(k, 1)


def split_incohesive(
    labels: np.ndarray,
    pair_weights: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]],
    conflict_bits: float,
    merge_threshold: float,
    max_exhaustive: int,
) -> tuple[np.ndarray, int]:
    """Re-cluster clusters whose members carry conflicting evidence.

    Args:
        labels: cluster label per record.
        pair_weights: ``(i, j) -> (weight, evidence, cannot)`` for arbitrary pairs: total
            weight (bits, prior and direct-edge evidence included), evidence without the
            prior, cannot-link flag.
        conflict_bits: a pair whose evidence is below this is a conflict.
        merge_threshold: average-linkage merge threshold (bits).
        max_exhaustive: larger clusters are split by a stricter rule (see below).

    Returns:
        New labels and the number of clusters that were split.
    """
    labels = labels.copy()
    order = np.argsort(labels, kind="stable")
    sl = labels[order]
    starts = np.flatnonzero(np.r_[True, sl[1:] != sl[:-1]])
    ends = np.r_[starts[1:], len(sl)]
    big = [(s, e) for s, e in zip(starts, ends, strict=True) if e - s >= 3]
    if not big:
        return labels, 0
    # every within-cluster pair of clusters of 3+, scored in one vectorised batch
    pi, pj, owner = [], [], []
    for c, (s, e) in enumerate(big):
        mem = order[s : min(e, s + max_exhaustive)]
        a, b = _upper_pairs(len(mem))
        pi.append(mem[a])
        pj.append(mem[b])
        owner.append(np.full(len(a), c))
    i, j, own = np.concatenate(pi), np.concatenate(pj), np.concatenate(owner)
    w, ev, cannot = pair_weights(i, j)
    bad = cannot | (ev < conflict_bits)
    bad_clusters = np.unique(own[bad])
    next_label = int(labels.max()) + 1 if len(labels) else 0
    for c in bad_clusters.tolist():
        s, e = big[c]
        mem = order[s : min(e, s + max_exhaustive)]
        sel = own == c
        k = len(mem)
        idx = {int(r): x for x, r in enumerate(mem.tolist())}
        mat = np.full((k, k), -np.inf)
        ia = np.fromiter((idx[int(x)] for x in i[sel]), np.int64)
        ja = np.fromiter((idx[int(x)] for x in j[sel]), np.int64)
        vals = np.where(cannot[sel], -np.inf, w[sel])
        mat[ia, ja] = vals
        mat[ja, ia] = vals
        sub = average_linkage(mat, merge_threshold)
        for g in range(1, int(sub.max()) + 1):
            labels[mem[sub == g]] = next_label
            next_label += 1
        if e - s > max_exhaustive:  # members past the cap leave as singletons
            for r in order[s + max_exhaustive : e].tolist():
                labels[r] = next_label
                next_label += 1
    # relabel to the smallest member position
    return canonical_labels(labels), len(bad_clusters)


def canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Relabel clusters by their smallest member position."""
    n = len(labels)
    if n == 0:
        return labels
    first = np.full(int(labels.max()) + 1, n, np.int64)
    np.minimum.at(first, labels, np.arange(n))
    return first[labels]


@dataclass
class IdAssignment:
    """Person ids per record and the ids retired by this run."""

    person_ids: list[str]
    retired: list[str]
    new_ids: int


def assign_ids(
    keys: list[str],
    labels: np.ndarray,
    previous: Mapping[str, str] | None = None,
    reserved: Iterable[str] = (),
) -> IdAssignment:
    """Stable person ids.

    A cluster keeps the oldest (lowest) previous id among its members; when a previous id
    is claimed by several clusters (a split) the cluster holding most of its members keeps
    it and the others fall back to their next-oldest id or a new one.  Ids held before and
    now held by no cluster are retired.  New ids are ``P`` + a 10-digit counter continuing
    after the highest id ever seen (previous and ``reserved``, i.e. retired ids), handed
    out in order of each new cluster's smallest record key, so equal inputs give equal ids.

    Args:
        keys: record key per position.
        labels: cluster label per position.
        previous: key → person id from the last run.
        reserved: ids that must never be reused (earlier retired ids).

    Returns:
        The :class:`IdAssignment`.
    """
    previous = previous or {}
    n = len(keys)
    labels = np.asarray(labels, np.int64)
    key_arr = np.asarray(keys, dtype=object)
    # smallest key per cluster (orders new ids and breaks ties), vectorised on key ranks
    rank, sorted_keys = pd.factorize(key_arr, sort=True)
    lab_code, labs = pd.factorize(labels)
    best = np.full(len(labs), n, np.int64)
    np.minimum.at(best, lab_code, rank)
    min_key = pd.Series(np.asarray(sorted_keys, dtype=object)[best], index=np.asarray(labs))
    prev = pd.Series(key_arr).map(previous) if previous else pd.Series([None] * n, dtype=object)
    has_prev = prev.notna().to_numpy()
    # candidate ids per cluster with member counts (only clusters holding previous ids)
    claims: dict[int, Counter] = {}
    owner: dict[str, int] = {}
    assigned: dict[int, str] = {}
    if has_prev.any():
        cnt = pd.DataFrame({"lab": labels[has_prev], "pid": prev[has_prev].to_numpy()})
        counts = cnt.value_counts()
        lab_of = counts.index.get_level_values(0).to_numpy(np.int64)
        pid_of = counts.index.get_level_values(1).to_numpy(object)
        # A cluster whose members held one id that no other cluster's members held keeps
        # it (it wins its first round uncontested, and nobody else ever asks for it):
        # most clusters of a run, settled at once instead of one Python step each.
        alone = (pd.Series(lab_of).map(pd.Series(lab_of).value_counts()) == 1).to_numpy()
        alone &= (pd.Series(pid_of).map(pd.Series(pid_of).value_counts()) == 1).to_numpy()
        assigned = dict(zip(lab_of[alone].tolist(), pid_of[alone].tolist(), strict=True))
        owner = {pid: lab for lab, pid in assigned.items()}
        for lab, pid, c in zip(
            lab_of[~alone].tolist(),
            pid_of[~alone].tolist(),
            counts.to_numpy()[~alone].tolist(),
            strict=True,
        ):
            claims.setdefault(lab, Counter())[pid] = int(c)
    pending = sorted(claims)
    # the order ids are asked for in (oldest first), and the clusters' smallest keys,
    # looked up once rather than per comparison
    age = {pid: (person_id_counter(pid), pid) for c in claims.values() for pid in c}
    first_key: dict[int, str] = {}
    if claims:
        at = min_key.reindex(list(claims))
        first_key = dict(zip(at.index.tolist(), at.tolist(), strict=True))
    # resolve in rounds: each cluster asks for its oldest id not yet refused
    refused: dict[int, set[str]] = {lab: set() for lab in claims}
    while pending:
        asks: dict[str, list[int]] = {}
        for lab in pending:
            no = refused[lab]
            opts = [pid for pid in claims[lab] if pid not in no]
            if opts:
                asks.setdefault(min(opts, key=age.__getitem__), []).append(lab)
        nxt: list[int] = []
        for pid, labs in asks.items():
            if len(labs) > 1:
                labs.sort(key=lambda lab: (-claims[lab][pid], first_key[lab]))
            win = labs[0]
            if pid in owner:  # already taken in an earlier round
                for lab in labs:
                    refused[lab].add(pid)
                    nxt.append(lab)
                continue
            owner[pid] = win
            assigned[win] = pid
            for lab in labs[1:]:
                refused[lab].add(pid)
                nxt.append(lab)
        pending = sorted(set(nxt))
    seen = set(previous.values()) | set(reserved)
    counter = max((person_id_counter(p) for p in seen), default=0)
    fresh_keys = min_key[~min_key.index.isin(list(assigned))].sort_values()
    fresh = fresh_keys.index.to_numpy()
    ids_fresh = [format_person_id(counter + 1 + k) for k in range(len(fresh))]
    lab_to_id = pd.Series(
        ids_fresh + list(assigned.values()),
        index=np.concatenate([fresh, np.asarray(list(assigned), np.int64)]),
        dtype=object,
    )
    ids = lab_to_id.reindex(labels).tolist()
    live = set(assigned.values())
    retired = sorted(set(previous.values()) - live)
    return IdAssignment(person_ids=ids, retired=retired, new_ids=len(fresh))


def detach_ambiguous(
    labels: np.ndarray,
    ei: np.ndarray,
    ej: np.ndarray,
    w: np.ndarray,
    link: np.ndarray,
    ci: Ends,
    cj: Ends,
    weak: np.ndarray,
    margin: float,
    years: np.ndarray | None = None,
    plausible_hi: np.ndarray | None = None,
    generation_gap: float = np.inf,
    generation_lag: float = np.inf,
    only: np.ndarray | None = None,
    settled: list[np.ndarray] | None = None,
    forbidden_rivals: bool = True,
    stated: tuple[Ends, Ends] | None = None,
    unique: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    middle: np.ndarray | None = None,
    twins: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    middle_held: np.ndarray | None = None,
    detached_support: np.ndarray | None = None,
) -> np.ndarray:
    """Take name-only mentions out of a person when they fit another person as well.

    A father recorded only as "Derek Foster, father of Lauren" at an address where a
    Derek Foster senior and junior both live matches both of them equally; the two are
    kept apart by a cannot-link (two records of one master index, different valid
    identifiers, a stated relationship), so the greedy clustering handed the mention to
    whichever came first.  Such a mention (and others like it) is ambiguous: it leaves
    the person and its links go to the review queue instead.

    When the mention is recorded as someone's parent, the person's age settles it: of a
    father aged 38 and a son aged 19 at the child's birth, only the first is a plausible
    parent (born by ``plausible_hi``), and the mention goes to him, even when it scores
    better against the son (beyond ``margin``).  When namesakes ``generation_gap`` or
    more years apart are both plausible parents, the mention is ambiguous whatever the
    weights say, unless the other scores more than ``generation_lag`` bits worse (more
    than a typo's worth: a namesake at another address is no rival).

    Args:
        labels: cluster label per record.
        ei, ej, w: all edges' endpoints and weights.
        link: per edge, a scored link at or above ``auto``.
        ci, cj: cannot-link pairs (arrays, or parts: :func:`cannot_parts`).
        weak: per record, name-only (no date of birth, no valid identifier).
        margin: an alternative within this many bits of the best link is as good.
        years: birth year per record (-1 unknown), for the parent-age tie-break.
        plausible_hi: per record, the latest plausible birth year for its stated roles
            (``inf`` when none).
        generation_gap: birth years this far apart make two candidates of different
            generations (``inf``: never).
        generation_lag: such a candidate counts only if its best link is at most this
            many bits behind the mention's best link into its current person (one that
            scores better always counts).
        only: per record, whether it may move (None: every name-only mention may).
        settled: when given, the mentions a parent's age settled are appended to it.
        forbidden_rivals: whether a person the mention itself may not join (a
            cannot-link between the mention and one of its records: the daughter "Aisha
            Hussein" whom "Aisha Hussein, mother of" states as her child) counts as an
            alternative.  Spec 15 can turn this off (``ambiguity_forbidden_rivals``).
        stated: with ``forbidden_rivals`` off, the pairs that bar a rival: a mention and
            the record it states a relationship to (``from``, ``to`` positions); None:
            every cannot-link.
        unique: spec 15 (``ambiguity_unique_roles``): ``(parent, child, role)``
            positions and role codes of the statements in a role a child has one of
            (mother, father).  A mention that would leave its person as ambiguous goes
            instead to the one candidate (its own person or an exclusive alternative)
            that another mention already states in that role of the same child: "James
            Green, father of Lily" is the James Green another agency records as Lily's
            father, not his namesake son.
        middle: per edge, whether its two records give the same middle names (None:
            middle names are not read).  A mention whose middle names agree only with an
            exclusive alternative at most ``generation_lag`` bits behind ("Michal
            Krzysztof Pawel Lukasik", undated, beside his namesake son "Michal Lukasik" of
            the same council and his own dated records that carry both middle names) is
            ambiguous whatever the weights say, when every birth year of one person is
            ``generation_gap`` or more from every year of the other: the middle names are
            what tells the namesakes apart, and the son's better score is his address.
        twins: per edge, ``(forename exact, date of birth exact, priority, kin)``, or
            None (``kin``: a link through a relative both records state).
            A record with a date of birth too (any record, not only name-only ones)
            whose links into its own person agree on its birth date but on its forename
            only at a nickname's level (none gives its forename as recorded), while a
            link through a relative both records state, into a person it may not join,
            agrees on both exactly ("Abdi Amhed, 2016-10-29", the police's record of one
            twin, at the address of the other twin "Abdullahi Ahmed" and linked to "Abdi
            Ahmed" through their mother) is ambiguous: the date cannot tell twins apart,
            and the forename names the other.  Not when an identifier or a steward holds
            it in its person.
        middle_held: per edge, a possible match a reviewable guard alone keeps apart at
            ``auto`` or above (None: not read).  For ``middle`` such an edge reaches a
            rival as a link does: "Ibrahim Rashid Ahmed", an undated nominal the
            one-sided "Sr" guard keeps from his own "Ibrahim Rashid Ahmed Sr" records,
            is no surer his namesake son's for a forename typo.
        detached_support: spec 20-alike9: per record, whether it has no place of its
            own (no postcode, no address); such a name-only mention held in its person
            through detached mentions is read again without them
            (:func:`_detached_support`).  None: off.

    Returns:
        New labels (detached mentions regrouped among themselves).
    """
    n = len(labels)
    out = labels.copy()
    by_age = years is not None and plausible_hi is not None
    # one pass over the links: every exclusive alternative, with how far behind it is
    wide = by_age or middle is not None
    alts = exclusive_alternatives(
        labels, ei, ej, w, link, ci, cj, weak, np.inf if wide else margin,
        forbidden_rivals=forbidden_rivals, stated=stated,
    )  # fmt: skip
    close = alts[alts["lag"].to_numpy() <= margin]
    amb_idx = np.unique(close["a"].to_numpy())
    mid_idx = np.empty(0, np.int64)
    malts = alts
    mlink = link
    if middle is not None and middle_held is not None and middle_held.any():
        # (a possible match kept apart for review reaches its rival as a link does)
        mlink = link | middle_held
        malts = exclusive_alternatives(
            labels, ei, ej, w, mlink, ci, cj, weak, np.inf,
            forbidden_rivals=forbidden_rivals, stated=stated,
        )  # fmt: skip
    if middle is not None and not malts.empty:
        # the persons each name-only mention reaches through a link agreeing on middle names
        k = np.flatnonzero(mlink & middle)
        a = np.concatenate([ei[k], ej[k]])
        c = labels[np.concatenate([ej[k], ei[k]])]
        sel = weak[a]
        reach = np.unique(a[sel] * n + c[sel])
        near = malts[malts["lag"].to_numpy() <= generation_lag]
        na, nc_ = near["a"].to_numpy(), near["c"].to_numpy()
        alt_mid = isin(na * n + nc_, reach)
        own_mid = isin(na * n + labels[na], reach)
        # ...between namesakes a generation apart (a father and his son; two persons of
        # one age are a person split in two, for a steward, not namesakes)
        # (every birth year of one this far from every year of the other: a date keyed
        # with a slip, 1918 for 1981, does not make a person a generation away)
        apart = np.zeros(len(na), bool)
        if years is not None and np.isfinite(generation_gap):
            known = years >= 0
            span = pd.Series(years[known]).groupby(labels[known]).agg(["min", "max"])
            lo_a = span["min"].reindex(labels[na]).to_numpy(np.float64)
            hi_a = span["max"].reindex(labels[na]).to_numpy(np.float64)
            lo_c = span["min"].reindex(nc_).to_numpy(np.float64)
            hi_c = span["max"].reindex(nc_).to_numpy(np.float64)
            gap = np.fmax(lo_c - hi_a, lo_a - hi_c)  # (NaN: unknown, never apart)
            apart = gap >= generation_gap
        mid_idx = np.unique(na[alt_mid & ~own_mid & apart])
        amb_idx = np.union1d(amb_idx, mid_idx)
    if twins is not None:
        amb_idx = np.union1d(amb_idx, _twin_mentions(labels, ei, ej, link, ci, cj, *twins))
    detach = amb_idx
    fixed: list[np.ndarray] = []  # (the mentions an age or a role settled)
    if by_age:
        assert years is not None and plausible_hi is not None
        cy = _person_birth_years(years, labels)
        # A parent mention held by a person too young to be that parent moves to the one
        # plausible alternative it is linked to, however much better its own link scores:
        # "Graham Cook, father of Susan" matches his son Graham (18 at her birth) on the
        # exact surname and the father only through a misspelt "Coook".
        aged = np.isfinite(plausible_hi)
        pairs = alts[(alts["lag"].to_numpy() <= margin) | aged[alts["a"].to_numpy()]]
        if not pairs.empty:
            # candidates per mention: its own person and the exclusive others
            mentions = np.unique(pairs["a"].to_numpy())
            cand = _age_candidates(mentions, labels, pairs, cy, plausible_hi, lag=True)
            a_ = cand["a"].to_numpy()
            own_bad = (labels[a_] == cand["c"].to_numpy()) & cand["judged"] & ~cand["ok"]
            g = cand.assign(own_bad=own_bad).groupby("a")
            sole = _sole_fit(g)
            # within the margin any mention is settled by age; beyond it only a misplaced one
            idx = sole.index
            settle = sole & (pd.Series(np.isin(idx, amb_idx), index=idx) | g["own_bad"].any())
            chosen = cand[cand["ok"] & cand["a"].map(settle).to_numpy()]
            fixed.append(chosen["a"].to_numpy())
            if settled is not None:
                settled.append(chosen["a"].to_numpy())
            out[chosen["a"].to_numpy()] = chosen["c"].to_numpy()
            # Two namesakes a generation apart, both of an age to be the parent (James
            # Green senior and junior, 43 and 20 at the child's birth): a typo in one's
            # other records must not decide which of them is the father, so the mention
            # goes to review.  Candidates of one generation are left to the weights.
            near = cand["lag"].to_numpy() <= generation_lag
            oky = cand["y"].where(cand["ok"].to_numpy() & near).groupby(a_)
            # candidates too far behind to be rivals need no judging either
            judged = pd.Series(cand["judged"].to_numpy() | ~near).groupby(a_).all()
            gen = ((oky.max() - oky.min()) >= generation_gap) & judged
            detach = np.union1d(
                np.setdiff1d(amb_idx, chosen["a"].to_numpy()), gen.index[gen.to_numpy()]
            )
    if unique is not None and len(detach) and len(unique[0]):
        got = _one_role_holder(labels, alts, detach, unique)
        if by_age and len(got[0]):
            # (never to a person too young to be the parent: the role's holder there
            # may itself be a name-only mention its weights put with a namesake son)
            assert plausible_hi is not None
            # (the persons' median birth years of the age check above)
            y = cy.reindex(got[1]).to_numpy(np.float64)
            fine = np.isnan(y) | (y <= plausible_hi[got[0]])
            got = (got[0][fine], got[1][fine])
        if len(got[0]):
            out[got[0]] = got[1]
            detach = np.setdiff1d(detach, got[0])
            fixed.append(got[0])
            if settled is not None:
                settled.append(got[0])
    if only is not None:
        detach = detach[only[detach]]
        out = np.where(only, out, labels)
    if detached_support is not None and len(detach):
        detach = _detached_support(
            out, ei, ej, w, link, ci, cj, weak & detached_support, margin, detach,
            forbidden_rivals=forbidden_rivals, stated=stated, only=only,
            fixed=np.concatenate([np.empty(0, np.int64), *fixed]),
            ages=(years, plausible_hi) if by_age else None,  # type: ignore[arg-type]
        )  # fmt: skip
    if not len(detach):
        return canonical_labels(out) if not np.array_equal(out, labels) else labels
    mask = np.zeros(n, bool)
    mask[detach] = True
    # regroup the detached mentions by their links among themselves
    inner = link & mask[ei] & mask[ej]
    sub = connected_components(n, ei[inner], ej[inner])
    out[detach] = n + sub[detach]  # fresh labels, canonicalised later
    return canonical_labels(out)


def _person_birth_years(years: np.ndarray, labels: np.ndarray) -> pd.Series:
    """Each person's median birth year, over its records of a known year (``years`` >= 0)."""
    known = years >= 0
    return pd.Series(years[known]).groupby(labels[known]).median()


def _age_candidates(
    mentions: np.ndarray,
    labels: np.ndarray,
    alts: pd.DataFrame,
    years: pd.Series,
    plausible_hi: np.ndarray,
    lag: bool = False,
) -> pd.DataFrame:
    """A parent mention's candidates: its own person and its exclusive alternatives.

    One row per (mention ``a``, person ``c``), ``alts``' rows for the mentions (``lag``
    kept when asked, 0 for its own person), with the person's median birth year ``y``
    (``years``: :func:`_person_birth_years`), whether the age can be judged (``judged``:
    the mention's latest plausible birth year and the person's are both known) and
    whether the person is old enough to be that parent (``ok``).
    """
    cols = ["a", "c", "lag"] if lag else ["a", "c"]
    own = pd.DataFrame({"a": mentions, "c": labels[mentions]})
    if lag:
        own["lag"] = 0.0
    cand = pd.concat([own, alts[cols]]).drop_duplicates(["a", "c"])
    y = years.reindex(cand["c"].to_numpy()).to_numpy(np.float64)
    hi = plausible_hi[cand["a"].to_numpy()]
    judged = np.isfinite(hi) & ~np.isnan(y)
    return cand.assign(y=y, ok=judged & (y <= hi), judged=judged)


def _sole_fit(groups: DataFrameGroupBy) -> pd.Series:
    """Per mention (``groups``: candidates grouped by ``a``): exactly one candidate old
    enough to be the parent, and every candidate's age judged."""
    return (groups["ok"].sum() == 1) & groups["judged"].all()


def _detached_support(
    out: np.ndarray,
    ei: np.ndarray,
    ej: np.ndarray,
    w: np.ndarray,
    link: np.ndarray,
    ci: Ends,
    cj: Ends,
    weak: np.ndarray,
    margin: float,
    detach: np.ndarray,
    forbidden_rivals: bool = True,
    stated: tuple[Ends, Ends] | None = None,
    only: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
    ages: tuple[np.ndarray, np.ndarray] | None = None,
    rounds: int = 4,
) -> np.ndarray:
    """Spec 20-alike9: the detached mentions, with those held only through them.

    A name-only mention without a place of its own (``weak``: the ones read here)
    linked into its person through mentions that leave it as ambiguous (finally
    detached: not those an age or a role settled) is read again without those links.
    If it then fits a person it may not join as well as its own (within ``margin``), it
    is ambiguous too: a hospital's undated, address-less "David
    Holland, father of" a baby was held by his namesake son's person through the
    school's "father of" contacts (one mother's partner), which fit the son and the
    father's own undated nominal equally and left; at the family's address it fits the
    son and the father's nominal equally as well.  A mention an age or a role settled
    (``fixed``) is not read again, and a parent mention that exactly one of its
    candidates (all of a known age) is old enough to be stays.  Repeated while it finds
    more (at most ``rounds`` times).

    Returns:
        The mentions to detach (``detach`` and the ones found here).
    """
    n = len(out)
    detach = np.asarray(detach, np.int64)
    for _ in range(rounds):
        mask = np.zeros(n, bool)
        mask[detach] = True
        # links into its own person through a detached mention
        via = link & (mask[ei] != mask[ej]) & (out[ei] == out[ej])
        a = np.concatenate([ei[via & ~mask[ei]], ej[via & ~mask[ej]]])
        a = np.unique(a[weak[a]])
        if only is not None:
            a = a[only[a]]
        if fixed is not None and len(fixed):
            a = np.setdiff1d(a, fixed)  # (settled by an age or a role: stays settled)
        if not len(a):
            break
        lab = out.copy()
        lab[detach] = n + detach  # (each detached mention alone)
        lab = canonical_labels(lab)
        alts = exclusive_alternatives(
            lab, ei, ej, w, link & ~mask[ei] & ~mask[ej], ci, cj, weak, margin,
            forbidden_rivals=forbidden_rivals, stated=stated,
        )  # fmt: skip
        alts = alts[isin(alts["a"].to_numpy(), a)]
        if alts.empty:
            break
        new = np.unique(alts["a"].to_numpy())
        if ages is not None:
            years, hi = ages
            cand = _age_candidates(new, lab, alts, _person_birth_years(years, lab), hi)
            sole = _sole_fit(cand.groupby("a"))
            # (one plausible parent: left to the age rule)
            new = np.setdiff1d(new, sole.index[sole.to_numpy()].to_numpy())
        if not len(new):
            break
        detach = np.union1d(detach, new)
    return detach


def _one_role_holder(
    labels: np.ndarray,
    alts: pd.DataFrame,
    detach: np.ndarray,
    unique: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Mentions about to be detached that one candidate person holds the role for.

    Returns:
        ``(mentions, persons)``: each mention and the one candidate person (its own or
        an exclusive alternative) in which another, settled mention is stated in the
        same unique role (mother, father) of the same child person.
    """
    n = len(labels)
    up, uc, ur = (np.asarray(x, np.int64) for x in unique)
    key = ur * n + labels[uc].astype(np.int64)
    held = pd.DataFrame({"m": up, "key": key, "c": labels[up]})
    mine = held[isin(up, unique_sorted(detach))][["m", "key"]].rename(columns={"m": "a"})
    if mine.empty:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    # (a mention about to leave its person holds nothing for it)
    other = held[~isin(up, unique_sorted(detach))].merge(mine, on="key")
    cands = pd.concat(
        [pd.DataFrame({"a": detach, "c": labels[detach]}), alts[["a", "c"]]]
    ).drop_duplicates()
    hit = other[["a", "c"]].drop_duplicates().merge(cands, on=["a", "c"])
    hit = hit[hit.groupby("a")["c"].transform("size").to_numpy() == 1]
    return hit["a"].to_numpy(np.int64), hit["c"].to_numpy(np.int64)


def _twin_mentions(
    labels: np.ndarray,
    ei: np.ndarray,
    ej: np.ndarray,
    link: np.ndarray,
    ci: Ends,
    cj: Ends,
    fn_exact: np.ndarray,
    dob_exact: np.ndarray,
    priority: np.ndarray,
    kin: np.ndarray,
) -> np.ndarray:
    """Records held by a person through a nickname while a person they may not join has
    their forename and birth date exactly (see :func:`detach_ambiguous`, ``twins``)."""
    k = np.flatnonzero(link | (priority < PRIORITY_SCORED))
    if not len(k) or not cannot_count(ci):
        return np.empty(0, np.int64)
    a = np.concatenate([ei[k], ej[k]])
    b = np.concatenate([ej[k], ei[k]])
    kk = np.concatenate([k, k])
    df = pd.DataFrame(
        {
            "a": a,
            "c": labels[b],
            "full": fn_exact[kk] & dob_exact[kk],
            "nick": ~fn_exact[kk] & dob_exact[kk],
            "named": fn_exact[kk],
            "held": priority[kk] < PRIORITY_SCORED,
            "kin": kin[kk],
        }
    )
    df["kin"] &= df["full"].to_numpy()
    cols = ["full", "nick", "named", "held", "kin"]
    g = df.groupby(["a", "c"], sort=False)[cols].any().reset_index()
    own = labels[g["a"].to_numpy()] == g["c"].to_numpy()
    mine = g[own].set_index("a")
    # held by its own person through a nickname only (no link there gives its forename
    # as recorded), and by nothing stronger
    by_nick = mine["nick"] & ~mine["named"] & ~mine["held"]
    alt = g[~own & g["kin"].to_numpy()]
    alt = alt[by_nick.reindex(alt["a"].to_numpy(), fill_value=False).to_numpy()]
    if alt.empty:
        return np.empty(0, np.int64)
    aa = alt["a"].to_numpy()
    excl = kept_apart(labels, ci, cj, labels[aa], alt["c"].to_numpy())
    return np.unique(aa[excl])


def exclusive_alternatives(
    labels: np.ndarray,
    ei: np.ndarray,
    ej: np.ndarray,
    w: np.ndarray,
    link: np.ndarray,
    ci: Ends,
    cj: Ends,
    weak: np.ndarray,
    margin: float,
    forbidden_rivals: bool = True,
    stated: tuple[Ends, Ends] | None = None,
) -> pd.DataFrame:
    """Name-only mentions linked as well to another person they may not join.

    Args:
        labels, ei, ej, w, link, ci, cj, weak: as for :func:`detach_ambiguous`.
        margin: keep alternatives at most this many bits behind the mention's best link
            into its own person (``inf``: all).
        forbidden_rivals: False: a person holding a record the mention itself has a
            cannot-link with is no alternative (the mention can never join it).
        stated: the pairs read for that (see :func:`detach_ambiguous`; None: ``ci, cj``).

    Returns:
        ``a, c, lag`` rows: mention, alternative person (cluster label), and how many
        bits its best link there is behind the best link into its own person.
    """
    empty = pd.DataFrame({"a": np.empty(0, np.int64), "c": np.empty(0, np.int64), "lag": []})
    k = np.flatnonzero(link)
    a = np.concatenate([ei[k], ej[k]])
    b = np.concatenate([ej[k], ei[k]])
    ww = np.concatenate([w[k], w[k]])
    sel = weak[a]
    if not sel.any() or not cannot_count(ci):
        return empty
    df = pd.DataFrame({"a": a[sel], "c": labels[b[sel]], "w": ww[sel]})
    best = df.groupby(["a", "c"], sort=False)["w"].max().reset_index()
    best["own"] = labels[best["a"].to_numpy()] == best["c"].to_numpy()
    own = best[best["own"]].set_index("a")["w"]
    alt = best[~best["own"]]
    lag = own.reindex(alt["a"]).to_numpy() - alt["w"].to_numpy()
    keep = lag <= margin  # NaN (no link into its own person) is never kept
    alt, lag = alt[keep], lag[keep]
    if alt.empty:
        return empty
    # the two persons must be ones that may not be joined (a cannot-link between them)
    la = labels[alt["a"].to_numpy()]
    lb = alt["c"].to_numpy()
    excl = kept_apart(labels, ci, cj, la, lb)
    if not forbidden_rivals and excl.any():
        # spec 15: a person the mention may not join itself is no rival: "Aisha
        # Hussein, mother of" fits her daughter Aisha Hussein's records by name and
        # address, but a mention is never the person it states a relationship to
        am = alt["a"].to_numpy()[excl]
        bi, bj = stated if stated is not None else (ci, cj)
        excl[np.flatnonzero(excl)[_barred(labels, bi, bj, am, lb[excl])]] = False
    return pd.DataFrame({"a": alt["a"].to_numpy()[excl], "c": lb[excl], "lag": lag[excl]})


def _barred(labels: np.ndarray, ci: Ends, cj: Ends, a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Per ``(a, c)``: whether record ``a`` has a cannot-link with a record of person ``c``."""
    n = len(labels)
    a = np.asarray(a, np.int64)
    q = a * n + np.asarray(c, np.int64)
    asked = unique_sorted(a)
    hits = []
    for x, y in zip(cannot_parts(ci), cannot_parts(cj), strict=True):
        for st in range(0, len(x), CANNOT_CHUNK):
            xa = np.asarray(x[st : st + CANNOT_CHUNK], np.int64)
            ya = np.asarray(y[st : st + CANNOT_CHUNK], np.int64)
            for u, v in ((xa, ya), (ya, xa)):
                k = isin(u, asked)
                hits.append(u[k] * n + labels[v[k]].astype(np.int64))
    if not hits:
        return np.zeros(len(q), bool)
    return isin(q, unique_sorted(np.concatenate(hits)))
