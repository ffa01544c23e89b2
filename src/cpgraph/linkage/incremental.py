"""Incremental clustering: re-cluster only the region a delta reaches.

A run fed the last run's :class:`~cpgraph.linkage.stages.LinkState` finds the records its
delta touches (:func:`_seeds`: new and changed records, the last run's links and
relationship links of those, the groups they were and are in, relationships and steward
decisions added or gone, persons the store holds otherwise), closes them into a region
no interaction crosses (:func:`cpgraph.linkage.scope.region`), clusters that region
alone with the engine's own cluster and cohesion stages, and takes the rest of the
clustering from the last run (:func:`_merged`). Each step checks that nothing it found
crosses the region's edge; if anything does, or the state cannot be trusted, the run
clusters everything and says why (``scope_fallback``).

:func:`scope_state` makes what the next run needs to do this.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from cpgraph.linkage import scope
from cpgraph.linkage.arrays import isin, unique_sorted
from cpgraph.linkage.clustering import PRIORITY_SCORED, canonical_labels
from cpgraph.linkage.scoring import Scorer
from cpgraph.linkage.spec import Spec
from cpgraph.linkage.stages import (
    CannotLinks,
    ClusterResult,
    Decisions,
    Edges,
    LinkState,
    Prepared,
    ScoreResult,
)

#: The engine's cluster stage (records, scores, decisions → clustering)...
ClusterStage = Callable[[Prepared, ScoreResult, Decisions], ClusterResult]
#: ...and its cohesion stage (→ final labels, clusters split).
CohesionStage = Callable[[Prepared, ScoreResult, Decisions, ClusterResult], tuple[np.ndarray, int]]

# the columns of a stated relationship that make it what it is (hashed to find changes)
REL_COLUMNS = ["from_key", "to_key", "relationship", "lives_with"]


def final_bounds(scorer: Scorer) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The birth-year bounds clustering ended with (per record), if any."""
    if scorer._ylo is None:
        return None
    return scorer._ylo.copy(), scorer._yhi.copy(), scorer._known.copy()


def scope_state(
    prep: Prepared,
    scored: ScoreResult,
    clustered: ClusterResult,
    labels: np.ndarray,
    steward: list[tuple[str, str, str]],
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    groups: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """What the next run needs to scope its clustering (positions: this run's;
    ``groups``: the records' group hashes when already made)."""
    s = prep.s
    base = scored.base
    cols = scope.group_columns(s)
    nl = len(clustered.edges.i) - len(base.i) - len(clustered.rel_edges.i)
    final = clustered.edges.cannot[nl : nl + len(base.i)]
    clash = np.flatnonzero(final & ~base.cannot)
    out: dict[str, np.ndarray] = {
        "labels": labels.astype(np.int64),
        "groups": groups if groups is not None else scope.group_hashes(s, cols),
        "group_names": scope.value_hashes(np.array(cols, object)),
        "clash_a": base.i[clash].astype(np.int64),
        "clash_b": base.j[clash].astype(np.int64),
    }
    rels = prep.rels
    if rels is not None and len(rels):
        out["rel_a"] = rels["from_pos"].to_numpy(np.int64)
        out["rel_b"] = rels["to_pos"].to_numpy(np.int64)
        out["rel_h"] = scope.row_hashes(rels, [c for c in REL_COLUMNS if c in rels.columns])
    st = _steward_rows(steward, prep.pos)
    out["st_a"], out["st_b"], out["st_h"] = st
    if bounds is not None:
        out["ylo"], out["yhi"], out["yknown"] = bounds
    re = clustered.rel_edges
    out["re_a"], out["re_b"] = re.i.astype(np.int64), re.j.astype(np.int64)
    out["re_weight"], out["re_prob"] = re.weight, re.prob
    out["re_priority"], out["re_cannot"], out["re_kept"] = re.priority, re.cannot, re.kept
    out["re_levels"], out["re_comp_w"] = re.levels, re.comp_w
    out["re_household"] = (re.method == "relationship:household").astype(bool)
    out["re_bonus"] = clustered.rel_bonus.astype(np.float64)
    return out


def _steward_rows(
    steward: list[tuple[str, str, str]], pos: pd.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steward decisions between known mentions: positions and a hash of each."""
    rows = [(a, b, str(d).upper()) for a, b, d in steward if a in pos.index and b in pos.index]
    if not rows:
        z = np.empty(0, np.int64)
        return z, z, np.empty(0, np.uint64)
    frame = pd.DataFrame(rows, columns=["a", "b", "d"])
    return (
        pos.reindex(frame["a"]).to_numpy(np.int64),
        pos.reindex(frame["b"]).to_numpy(np.int64),
        scope.row_hashes(frame, ["a", "b", "d"]),
    )


def _seeds(
    spec: Spec,
    prep: Prepared,
    scored: ScoreResult,
    state: LinkState,
    sc: dict[str, np.ndarray],
    steward: list[tuple[str, str, str]],
    previous_ids: Mapping[str, str] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | str:
    """Records a delta touches (see :mod:`cpgraph.linkage.scope`), the current
    position of each of the last run's records (-1: gone) and their last labels
    there (-1: new), and the records' group hashes now; or why the run cannot be scoped."""
    s = prep.s
    n = len(s)
    keys_old = state.fingerprints.index.to_numpy(object)
    at = prep.pos.reindex(keys_old).to_numpy(np.float64)
    at = np.where(np.isnan(at), -1, at).astype(np.int64)
    here = at >= 0
    changed = scored.changed
    seeds = changed.copy()
    touched_old = ~here
    touched_old[here] = changed[at[here]]

    def mark(old_pos: np.ndarray) -> None:
        p = at[old_pos]
        seeds[p[p >= 0]] = True

    # the last run's link-capable edges and relationship links of a changed record
    e = state.edges
    link = ~e["cannot"].to_numpy(bool) & (
        (e["priority"].to_numpy(np.int64) < PRIORITY_SCORED)
        | (e["probability"].to_numpy(np.float64) >= spec.auto)
    )
    gone = set(keys_old[touched_old].tolist())
    if gone:
        ka, kb = e["key_a"].to_numpy(object)[link], e["key_b"].to_numpy(object)[link]
        hit = pd.Series(ka).isin(gone).to_numpy() | pd.Series(kb).isin(gone).to_numpy()
        for k in (ka[hit], kb[hit]):
            p = prep.pos.reindex(k).to_numpy(np.float64)
            seeds[p[~np.isnan(p)].astype(np.int64)] = True
    ra, rb = sc["re_a"], sc["re_b"]
    hit = touched_old[ra] | touched_old[rb]
    mark(ra[hit])
    mark(rb[hit])
    # a changed record's groups, before and after (a postcode's households and
    # namesakes, identifiers that make a record more than its name)
    cols = scope.group_columns(s)
    if not np.array_equal(sc["group_names"], scope.value_hashes(np.array(cols, object))):
        return "group columns changed"
    old = sc["groups"]
    if old.shape[1] != len(cols):
        return "group columns changed"
    # an unchanged record's values are the last run's (its fingerprint covers them)
    now = np.zeros((n, len(cols)), np.uint64)
    now[at[here]] = old[here]
    redo = np.flatnonzero(changed)
    now[redo] = scope.group_hashes(s.iloc[redo], cols)
    for k in range(len(cols)):
        hits = np.concatenate([old[touched_old, k], now[changed, k]])
        seeds |= scope.members(now[:, k], hits)
    # relationships and steward decisions added or gone
    rels = prep.rels
    if rels is not None and len(rels):
        h = scope.row_hashes(rels, [c for c in REL_COLUMNS if c in rels.columns])
        new = ~isin(h, unique_sorted(sc.get("rel_h", np.empty(0, np.uint64))))
        seeds[rels["from_pos"].to_numpy(np.int64)[new]] = True
        seeds[rels["to_pos"].to_numpy(np.int64)[new]] = True
    else:
        h = np.empty(0, np.uint64)
    if "rel_h" in sc:
        lost = ~isin(sc["rel_h"], unique_sorted(h))
        mark(sc["rel_a"][lost])
        mark(sc["rel_b"][lost])
    sa, sb, sh = _steward_rows(steward, prep.pos)
    new = ~isin(sh, unique_sorted(sc["st_h"]))
    seeds[sa[new]] = True
    seeds[sb[new]] = True
    lost = ~isin(sc["st_h"], unique_sorted(sh))
    mark(sc["st_a"][lost])
    mark(sc["st_b"][lost])
    # persons the store holds otherwise than the last run left them
    last = np.full(n, -1, np.int64)
    last[at[here]] = sc["labels"][here]
    pids = [previous_ids.get(k) if previous_ids else None for k in s["key"].tolist()]
    codes, _ = pd.factorize(pd.Series(pids, dtype=object), use_na_sentinel=True)
    seeds |= scope.partition_mismatch(last, codes.astype(np.int64))
    return seeds, at, last, now


def scoped_run(
    spec: Spec,
    prep: Prepared,
    scored: ScoreResult,
    decisions: Decisions,
    state: LinkState,
    steward: list[tuple[str, str, str]],
    previous_ids: Mapping[str, str] | None,
    info: dict[str, Any],
    cluster: ClusterStage,
    cohesion: CohesionStage,
    below_auto: Callable[[Edges], np.ndarray] | None = None,
) -> tuple[ClusterResult, np.ndarray, int, Any] | None:
    """Cluster the region a delta reaches; None (``info`` says why) to cluster all.

    ``below_auto``: per scored edge, whether the cluster stage may link it though it
    scores below ``auto`` (such a pair joins the region like a link).
    """
    sc = state.scope
    if not sc or len(sc.get("labels", ())) != len(state.fingerprints):
        info["scope_fallback"] = "no scope state"
        return None
    if (prep.year_lo is not None) != ("ylo" in sc):
        info["scope_fallback"] = "birth-year bounds changed"
        return None
    if prep.places is not None and not spec.corroborate_within_household:
        # a move any two people make corroborates everyone's: nothing is local
        info["scope_fallback"] = "moves corroborated across households"
        return None
    s = prep.s
    n = len(s)
    t0 = time.perf_counter()
    got = _seeds(spec, prep, scored, state, sc, steward, previous_ids)
    if isinstance(got, str):
        info["scope_fallback"] = got
        return None
    seeds, at, last, info["groups"] = got
    base = scored.base
    link = ~base.cannot & ((base.priority < PRIORITY_SCORED) | (base.prob >= spec.auto))
    if below_auto is not None:
        link |= below_auto(base)
    parts_i = [base.i[link], decisions.links.i]
    parts_j = [base.j[link], decisions.links.j]
    rels = prep.rels
    rel_ends = np.zeros(n, bool)
    if rels is not None and len(rels):
        rf, rt = rels["from_pos"].to_numpy(np.int64), rels["to_pos"].to_numpy(np.int64)
        parts_i.append(rf)
        parts_j.append(rt)
        rel_ends[rf] = rel_ends[rt] = True
    # members of one person of the last run stay together or are all re-clustered
    has = last >= 0
    first = first_of(last, n)
    parts_i.append(np.flatnonzero(has))
    parts_j.append(first[has])
    ra, rb = at[sc["re_a"]], at[sc["re_b"]]
    ok = (ra >= 0) & (rb >= 0)
    parts_i.append(ra[ok])
    parts_j.append(rb[ok])
    pc, _ = pd.factorize(s["pc"].to_numpy(object), use_na_sentinel=True)
    pc = pc.astype(np.int64)
    size = np.bincount(pc[pc >= 0], minlength=1)
    pc[(pc >= 0) & (size[np.maximum(pc, 0)] > spec.max_block_size)] = -1
    first_sn, first_fn = prep.comparer.rec_first["sn"], prep.comparer.rec_first["fn"]
    ini, _ = pd.factorize(np.char.add(first_sn.astype(str), first_fn.astype(str)))
    ini = np.where((first_sn != "") & (first_fn != ""), ini, -1).astype(np.int64)
    t1 = time.perf_counter()
    hi, hj = np.concatenate(parts_i), np.concatenate(parts_j)
    reg = scope.region(n, seeds, hi, hj, pc, ini, rel_ends)
    info["scope_seconds"] = {"seeds": t1 - t0}
    if not reg.ok:
        info["scope_fallback"] = reg.reason
        return None
    inside = reg.mask
    assert inside is not None
    # the check, before any work: no interaction crosses the region's edge, and
    # every record the delta touches is inside
    if not (inside[hi] == inside[hj]).all() or (seeds & ~inside).any():
        info["scope_fallback"] = "region not closed"
        return None
    if (last[~inside] < 0).any():  # (every record outside was there last time)
        info["scope_fallback"] = "new record outside the region"
        return None
    t2 = time.perf_counter()
    prep_r, scored_r, decisions_r = _restricted(prep, scored, decisions, inside)
    clustered_r = cluster(prep_r, scored_r, decisions_r)
    t3 = time.perf_counter()
    re_r = clustered_r.edges
    lab_r = clustered_r.labels
    out = np.flatnonzero(~inside)
    # the check: nothing clustering found may cross the region's edge
    if (
        not (inside[clustered_r.rel_edges.i] & inside[clustered_r.rel_edges.j]).all()
        or not np.array_equal(lab_r[out], out)
        or not (inside[re_r.i] == inside[re_r.j]).all()
    ):
        info["scope_fallback"] = "region not closed"
        return None
    labels_r, n_split = cohesion(prep_r, scored_r, decisions_r, clustered_r)
    if not np.array_equal(labels_r[out], out):
        info["scope_fallback"] = "region not closed"
        return None
    t4 = time.perf_counter()
    labels = canonical_labels(np.where(inside, labels_r, n + first))
    clustered, bounds = _merged(prep, scored, decisions, state, sc, at, inside, clustered_r, labels)
    secs = {"region": t2 - t1, "cluster": t3 - t2, "cohesion": t4 - t3}
    secs["merge"] = time.perf_counter() - t4
    info["scope_seconds"].update(secs)
    info.update(scoped=True, region=int(inside.sum()), region_rounds=reg.rounds)
    info["inside"] = inside
    return clustered, labels, n_split, bounds


def _restricted(
    prep: Prepared, scored: ScoreResult, decisions: Decisions, inside: np.ndarray
) -> tuple[Prepared, ScoreResult, Decisions]:
    """The run's records, edges, relationships and decisions within ``inside`` only
    (positions unchanged: the records outside are there, with nothing to join)."""
    rels = prep.rels
    if rels is not None:
        both = (
            inside[rels["from_pos"].to_numpy(np.int64)] & inside[rels["to_pos"].to_numpy(np.int64)]
        )
        rels = rels[both].reset_index(drop=True)
    si, sj = prep.stated_i, prep.stated_j
    keep = inside[si] & inside[sj]
    prep_r = replace(prep, rels=rels, stated_i=si[keep], stated_j=sj[keep])
    base = scored.base
    cl = scored.cannot
    ck = inside[cl.i] & inside[cl.j]
    scored_r = replace(
        scored,
        base=base.take(inside[base.i] & inside[base.j]),
        cannot=CannotLinks(cl.i[ck], cl.j[ck], cl.weight[ck]),
    )
    links = decisions.links
    sc = decisions.cannot
    decisions_r = Decisions(
        links=links.take(inside[links.i] & inside[links.j]),
        cannot=sc[inside[sc[:, 0]] & inside[sc[:, 1]]],
    )
    return prep_r, scored_r, decisions_r


def _merged(
    prep: Prepared,
    scored: ScoreResult,
    decisions: Decisions,
    state: LinkState,
    sc: dict[str, np.ndarray],
    at: np.ndarray,
    inside: np.ndarray,
    clustered_r: ClusterResult,
    labels: np.ndarray,
) -> tuple[ClusterResult, Any]:
    """The whole run's clustering from the region's and the last run's rest."""
    n = len(labels)
    base = scored.base
    rr = inside[base.i] & inside[base.j]
    # (the region's edges: its LINKs, its part of the base, its relationship links)
    end = len(clustered_r.edges.i) - len(clustered_r.rel_edges.i)
    cut = slice(end - int(rr.sum()), end)
    base_r = clustered_r.edges.take(cut)
    cannot, kept = base.cannot.copy(), base.kept.copy()
    cannot[rr], kept[rr] = base_r.cannot, base_r.kept
    # the rest's age clashes as the last run found them; a pair across the edge by
    # both ends' final birth-year bounds (the region's now, the rest's last run's)
    ca, cb = at[sc["clash_a"]], at[sc["clash_b"]]
    ok = (ca >= 0) & (cb >= 0)
    lo_, hi_ = np.minimum(ca[ok], cb[ok]), np.maximum(ca[ok], cb[ok])
    codes = unique_sorted(lo_ * n + hi_)
    pair = np.minimum(base.i, base.j) * n + np.maximum(base.i, base.j)
    clash = ~rr & isin(pair, codes)
    scorer = scored.scorer
    bounds = final_bounds(scorer)
    if "ylo" in sc:
        here = at >= 0
        ylo = np.full(n, -np.inf)
        yhi = np.full(n, np.inf)
        known = np.zeros(n, bool)
        ylo[at[here]], yhi[at[here]] = sc["ylo"][here], sc["yhi"][here]
        known[at[here]] = sc["yknown"][here]
        if bounds is not None:
            ylo = np.where(inside, bounds[0], ylo)
            yhi = np.where(inside, bounds[1], yhi)
            known = np.where(inside, bounds[2], known)
        bounds = (ylo, yhi, known)
    if bounds is not None:
        across = np.flatnonzero(inside[base.i] != inside[base.j])
        a, b = base.i[across], base.j[across]
        both = bounds[2][a] & bounds[2][b]
        lo = np.maximum(bounds[0][a], bounds[0][b])
        hi = np.minimum(bounds[1][a], bounds[1][b])
        clash[across] |= ~both & (lo > hi + scorer.YEAR_TOLERANCE)
    clash &= base.priority == PRIORITY_SCORED
    cannot |= clash
    kept = np.where(clash, 0, kept).astype(np.int8)
    merged = replace(base, cannot=cannot, kept=kept)
    # relationship links: the region's, and the rest's as the last run found them
    ra, rb = at[sc["re_a"]], at[sc["re_b"]]
    keep = (ra >= 0) & (rb >= 0)
    keep[keep] = ~inside[ra[keep]] & ~inside[rb[keep]]
    method = np.where(sc["re_household"][keep], "relationship:household", "relationship")
    rest = Edges(
        ra[keep],
        rb[keep],
        sc["re_weight"][keep],
        sc["re_prob"][keep],
        method.astype(object),
        sc["re_priority"][keep],
        sc["re_cannot"][keep],
        sc["re_levels"][keep],
        sc["re_comp_w"][keep],
        sc["re_kept"][keep],
    )
    rel_edges = Edges.concat([clustered_r.rel_edges, rest])
    rel_bonus = np.concatenate([clustered_r.rel_bonus, sc["re_bonus"][keep]])
    edges = Edges.concat([decisions.links, merged, rel_edges])
    return ClusterResult(labels, edges, rel_edges, rel_bonus), bounds


def first_of(last: np.ndarray, n: int) -> np.ndarray:
    """Per record, the first position holding its label in ``last`` (-1 labels: own)."""
    out = np.arange(n, dtype=np.int64)
    has = last >= 0
    idx = np.flatnonzero(has)
    out[idx] = pd.Series(idx).groupby(last[has]).transform("min").to_numpy()
    return out
