"""Fellegi–Sunter model: u from random pairs, m by EM, term-frequency adjustment.

No labels are used.  ``u`` (level frequencies among non-matches) is measured on uniformly
random pairs; ``m`` (among matches) is learned by EM in training sessions, each on pairs
blocked by some columns with the comparisons on those columns switched off (Splink's
scheme: a comparison cannot be learned from a block that forces it to agree).  The prior
(probability two random mentions match) is the median over sessions of
``λ_session · pairs_session / recall_session`` divided by all pairs, where a session's
recall is the product of the exact-level m's of the comparisons it blocks on.
Identifier comparisons with ``fixed_m`` keep m from the identifiers' known error rates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cpgraph.errors import LinkageError
from cpgraph.linkage.arrays import unique_sorted
from cpgraph.linkage.blocking import random_pairs, sampled_rule_pairs
from cpgraph.linkage.comparisons import MISSING, Comparer, PairLevels
from cpgraph.linkage.spec import BlockingRule, Spec

U_MIN_COUNT = 100  # observations per level before u-sampling of a comparison stops
TF_MAX_ADJUST = 12.0  # bits: cap for very rare values (one typo is "rare" too)
EM_START = 0.3  # starting λ of a training session
EM_RESTART = 0.01  # ...and of its second try, when the first degenerated
EM_DEGENERATE = 0.99  # λ above this at the iteration cap: "every pair is a match"


@dataclass
class ComparisonParams:
    """m/u per level (levels + else) and, optionally, a term-frequency table."""

    name: str
    labels: list[str]
    m: list[float]
    u: list[float]
    fixed: bool = False
    tf: dict[str, float] | None = None
    tf_floor: float = 1e-6

    def weights(self) -> np.ndarray:
        """log2(m/u) per level."""
        return np.log2(np.asarray(self.m) / np.asarray(self.u))


@dataclass
class Model:
    """A fitted Fellegi–Sunter model (JSON-serialisable through :meth:`to_dict`)."""

    spec_version: str
    prior: float
    params: list[ComparisonParams]
    n_records: int = 0
    diagnostics: dict[str, Any] = field(default_factory=dict)
    name_variants: list[tuple[str, str]] = field(default_factory=list)
    # m and u of "one master index" vs "two master indexes" for pairs of two master
    # records (learned by EM when the spec says so; None: not learned)
    same_source: dict[str, list[float]] | None = None

    @property
    def same_source_weights(self) -> tuple[float, float] | None:
        """log2(m/u) for a within-system pair and for a pair of two systems' records."""
        if self.same_source is None:
            return None
        m, u = self.same_source["m"], self.same_source["u"]
        return math.log2(m[0] / u[0]), math.log2(m[1] / u[1])

    @property
    def prior_weight(self) -> float:
        """log2 prior odds."""
        return math.log2(self.prior / (1.0 - self.prior))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (store between runs for incremental linkage)."""
        return {
            "spec_version": self.spec_version,
            "prior": self.prior,
            "n_records": self.n_records,
            "params": [p.__dict__ for p in self.params],
            "diagnostics": self.diagnostics,
            "name_variants": [list(p) for p in self.name_variants],
            "same_source": self.same_source,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Model:
        """Inverse of :meth:`to_dict`."""
        return cls(
            spec_version=d["spec_version"],
            prior=float(d["prior"]),
            n_records=int(d.get("n_records", 0)),
            params=[ComparisonParams(**p) for p in d["params"]],
            diagnostics=d.get("diagnostics", {}),
            name_variants=[(str(a), str(b)) for a, b in d.get("name_variants", [])],
            same_source=d.get("same_source"),
        )

    def tf_adjustments(self, pl: PairLevels) -> np.ndarray:
        """``(n_pairs, n_comparisons)`` TF adjustment (bits) at exact-level agreements."""
        adj = np.zeros(pl.levels.shape, np.float64)
        for k, p in enumerate(self.params):
            if p.tf is None or p.name not in pl.tf_values:
                continue
            vals = pl.tf_values[p.name]
            hit = pl.levels[:, k] == 0
            if not hit.any():
                continue
            # once per distinct value agreed on
            codes, uniq = pd.factorize(vals[hit], use_na_sentinel=True)
            tf = p.tf
            fu = np.fromiter((tf.get(str(x), np.nan) for x in uniq.tolist()), np.float64, len(uniq))
            fu = np.where(np.isnan(fu), p.tf_floor, np.maximum(fu, p.tf_floor))
            au = np.clip(np.log2(p.u[0] / np.append(fu, p.tf_floor)), -TF_MAX_ADJUST, TF_MAX_ADJUST)
            adj[hit, k] = au[codes]
        return adj

    def comparison_weights(self, pl: PairLevels) -> np.ndarray:
        """``(n_pairs, n_comparisons)`` match weight per comparison, TF included."""
        w = np.zeros(pl.levels.shape, np.float64)
        for k, p in enumerate(self.params):
            table = np.append(p.weights(), 0.0)  # level -1 (missing) → the trailing 0
            w[:, k] = table[pl.levels[:, k]]
        return w + self.tf_adjustments(pl)

    def score(self, pl: PairLevels) -> tuple[np.ndarray, np.ndarray]:
        """Total match weight (bits, prior included) and per-comparison weights."""
        w = self.comparison_weights(pl)
        return self.prior_weight + w.sum(axis=1), w


def probability(weight: np.ndarray | float) -> np.ndarray:
    """Match probability from a match weight in bits."""
    return 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))


def weight_for_probability(p: float) -> float:
    """The match weight (bits) at which the probability is ``p``."""
    return math.log2(p / (1.0 - p))


def initial_m(n_labels: int) -> np.ndarray:
    """A starting m: most mass on exact, a little on the fuzzy levels, some on else."""
    if n_labels == 2:
        return np.array([0.9, 0.1])
    m = np.empty(n_labels)
    m[0] = 0.8
    m[1:-1] = 0.15 / (n_labels - 2)
    m[-1] = 0.05
    return m


def _patterns(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct level vectors and their counts."""
    if len(levels) == 0:
        return levels, np.zeros(0, np.int64)
    # one mixed-radix integer per row (levels are -1..<=126), then a hash factorisation
    x = levels.astype(np.int64) + 1
    radix = int(x.max()) + 1
    if radix ** levels.shape[1] >= 2**62:
        pats, counts = np.unique(levels, axis=0, return_counts=True)
        return pats, counts
    code = np.zeros(len(x), np.int64)
    for k in range(levels.shape[1]):
        code = code * radix + x[:, k]
    inv, uniq = pd.factorize(code)
    counts = np.bincount(inv, minlength=len(uniq)).astype(np.int64)
    first = np.full(len(uniq), len(inv), np.int64)
    np.minimum.at(first, inv, np.arange(len(inv)))
    return levels[first], counts


def em(
    levels: np.ndarray,
    m: list[np.ndarray],
    u: list[np.ndarray],
    prior: float,
    active: np.ndarray,
    fixed: np.ndarray,
    *,
    max_iter: int = 40,
    tol: float = 1e-5,
    min_m: float = 0.001,
) -> tuple[list[np.ndarray], float, int]:
    """Expectation–maximisation of m and λ with u held fixed.

    Args:
        levels: ``(n_pairs, n_comparisons)`` level indices (-1 missing).
        m: starting m per comparison (levels + else).
        u: u per comparison.
        prior: starting λ (share of matches among these pairs).
        active: comparisons that take part.
        fixed: comparisons whose m is not updated.
        max_iter: iteration cap.
        tol: stop when no m or λ moves more than this.
        min_m: floor for every m (a level never seen among matches is not impossible).

    Returns:
        Updated m list, λ, iterations run.
    """
    pats, counts = _patterns(levels)
    counts = counts.astype(np.float64)
    m = [x.copy() for x in m]
    lam = prior
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        logit = np.full(len(pats), math.log(lam / (1 - lam)))
        for k in np.flatnonzero(active):
            lv = pats[:, k]
            ok = lv != MISSING
            logit[ok] += np.log(m[k][lv[ok]]) - np.log(u[k][lv[ok]])
        p = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        pw = p * counts
        delta = 0.0
        for k in np.flatnonzero(active & ~fixed):
            lv = pats[:, k]
            ok = lv != MISSING
            tot = pw[ok].sum()
            if tot <= 0:
                continue
            new = np.bincount(lv[ok], weights=pw[ok], minlength=len(m[k])) / tot
            new = np.maximum(new, min_m)
            new /= new.sum()
            delta = max(delta, float(np.abs(new - m[k]).max()))
            m[k] = new
        new_lam = float(np.clip(pw.sum() / counts.sum(), 1e-9, 1 - 1e-9))
        delta = max(delta, abs(new_lam - lam))
        lam = new_lam
        if delta < tol:
            break
    return m, lam, it


def _tf_table(values: np.ndarray) -> dict[str, float]:
    vc = pd.Series(values).dropna().value_counts(normalize=True)
    return {str(k): float(v) for k, v in vc.items()}


def total_pairs(s: pd.DataFrame, link_only: bool) -> float:
    """Number of pairs the prior refers to."""
    n = len(s)
    if not link_only:
        return n * (n - 1) / 2
    sizes = s["grp"].value_counts().to_numpy(np.float64)
    return (sizes.sum() ** 2 - (sizes**2).sum()) / 2


def session_em(
    levels: np.ndarray,
    m0: list[np.ndarray],
    u: list[np.ndarray],
    active: np.ndarray,
    fixed: np.ndarray,
    spec: Spec,
    keys: tuple[str, ...] = (),
) -> tuple[list[np.ndarray], float, int, bool]:
    """EM for one training session, restarted from a low λ if it degenerates.

    From a high starting λ, EM can drift to the fixed point where every pair of the
    block is a "match" (λ → 1, m → the block's own level frequencies) and stop at the
    iteration cap there; weights learned from it are nonsense (at 1M mentions one such
    session turned precision from 0.9996 into 0.944).  From a low start it finds the
    match class; a session that degenerates from both starts is an error, not a model.

    Returns:
        m per comparison, λ, iterations of the run kept, and whether it was restarted.

    Raises:
        LinkageError: the session degenerates from both starts.
    """
    opts = {"max_iter": spec.em_max_iter, "tol": spec.em_tolerance, "min_m": spec.min_m}
    m_s, lam, iters = em(levels, m0, u, EM_START, active, fixed, **opts)
    if iters < spec.em_max_iter or lam <= EM_DEGENERATE:
        return m_s, lam, iters, False
    m_s, lam, iters = em(levels, m0, u, EM_RESTART, active, fixed, **opts)
    if iters >= spec.em_max_iter and lam > EM_DEGENERATE:
        raise LinkageError(
            f"training session on {'+'.join(keys) or 'its block'} did not converge: EM "
            f"took every pair for a match (λ = {lam:.4f}) from both starting points; "
            "check the spec's [training] sessions"
        )
    return m_s, lam, iters, True


def fit(
    s: pd.DataFrame,
    comparer: Comparer,
    vtable: pd.DataFrame,
    spec: Spec,
    *,
    link_only: bool = False,
    exclude: Callable[[PairLevels], np.ndarray] | None = None,
    source_codes: np.ndarray | None = None,
) -> Model:
    """Estimate u, m, the prior and TF tables from unlabelled records.

    Args:
        s: standardised records.
        comparer: comparer over ``s``.
        vtable: blocking variant table.
        spec: the linkage spec (training sessions, sample sizes).
        link_only: pairs only between different ``grp``.
        exclude: pairs → mask of pairs to leave out of EM (known non-matches such as
            cannot-links), so look-alikes do not teach m.
        source_codes: per record, its master index code (-1: not a master record); with
            the spec's ``learn_same_source``, how often a match lies within one master
            index is learned too (see :func:`learn_same_source`).

    Returns:
        The fitted :class:`Model`.
    """
    learn_ss = spec.same_source_learn and source_codes is not None
    comps = spec.comparisons
    nc = len(comps)
    # u in chunks of random pairs; a comparison stops once every level has been seen
    # u_min_count times (Splink does the same), so costly string levels stop early
    ri, rj = random_pairs(s, spec.u_sample_pairs, spec.seed, link_only=link_only)
    counts = [np.zeros(len(c.levels) + 1) for c in comps]
    todo = {c.name for c in comps}
    chunk = max(spec.u_sample_pairs // 10, 1)
    for st in range(0, len(ri), chunk):
        rl = comparer.compare(ri[st : st + chunk], rj[st : st + chunk], only=todo).levels
        for k, c in enumerate(comps):
            if c.name not in todo:
                continue
            lv = rl[:, k]
            counts[k] += np.bincount(lv[lv != MISSING], minlength=len(counts[k]))
            if counts[k].min() >= U_MIN_COUNT:
                todo.discard(c.name)
        if not todo:
            break
    u: list[np.ndarray] = []
    for k, c in enumerate(comps):
        nl = len(c.levels) + 1
        tot = counts[k].sum()
        # a level never seen among random pairs gets half a count
        freq = np.full(nl, 1.0 / nl) if tot == 0 else np.maximum(counts[k] / tot, 0.5 / tot)
        u.append(freq / freq.sum())
    fixed = np.array([c.fixed_m is not None for c in comps])
    m0 = [
        np.asarray(c.fixed_m) if c.fixed_m is not None else initial_m(len(c.levels) + 1)
        for c in comps
    ]
    u_ss = _same_source_u(source_codes, ri, rj) if learn_ss else None
    m_ss: list[np.ndarray] = []
    rng = np.random.default_rng(spec.seed)
    learned: list[list[np.ndarray]] = [[] for _ in range(nc)]
    sessions_out: list[dict[str, Any]] = []
    for sess in spec.sessions:
        rule = BlockingRule(name="training", keys=sess.keys)
        try:
            a, b, est_total = sampled_rule_pairs(
                rule, s, vtable, spec.max_block_size, spec.max_session_pairs, rng
            )
        except KeyError:
            continue
        if link_only:
            g = s["grp"].to_numpy()
            keep = g[a] != g[b]
            a, b = a[keep], b[keep]
        n_raw = len(a)
        code = unique_sorted(a * max(len(s), 1) + b)
        n_pairs = len(code)
        scale = 1.0  # blocks were sampled: the sample stands for all of them
        if est_total > 0 and n_raw:
            scale = est_total / n_raw
        if n_pairs < 10:
            continue
        if n_pairs > spec.max_session_pairs:
            code = rng.choice(code, spec.max_session_pairs, replace=False)
        a, b = code // len(s), code % len(s)
        pl = comparer.compare(a, b)
        lv = pl.levels
        if exclude is not None and len(lv):
            drop = exclude(pl)
            n_pairs = int(round(n_pairs * (1.0 - drop.mean())))
            lv = lv[~drop]
            a, b = a[~drop], b[~drop]
        n_pairs = int(round(n_pairs * scale))
        active = np.array([c.name not in sess.deactivate for c in comps])
        m_s, lam_s, iters, restarted = session_em(lv, m0, u, active, fixed, spec, sess.keys)
        for k in np.flatnonzero(active & ~fixed):
            learned[k].append(m_s[k])
        if u_ss is not None:
            m_one = learn_same_source(lv, m_s, u, lam_s, active, source_codes, a, b, u_ss, spec)
            if m_one is not None:
                m_ss.append(m_one)
        sessions_out.append(
            {
                "keys": list(sess.keys),
                "deactivate": list(sess.deactivate),
                "pairs": n_pairs,
                "lambda": lam_s,
                "iterations": iters,
                "restarted": restarted,
            }
        )
    m_final = [np.mean(learned[k], axis=0) if learned[k] else m0[k] for k in range(nc)]
    npairs_all = max(total_pairs(s, link_only), 1.0)
    if spec.match_probability is not None:
        prior = float(spec.match_probability)
    else:
        estimates = []
        for so in sessions_out:
            recall = 1.0
            for name in so["deactivate"]:
                recall *= float(m_final[spec.names.index(name)][0])
            estimates.append(so["lambda"] * so["pairs"] / max(recall, 1e-3))
            so["expected_matches"] = estimates[-1]
        expected = float(np.median(estimates)) if estimates else len(s) * 0.1
        prior = float(np.clip(expected / npairs_all, 1e-12, 0.5))
    params = []
    for k, c in enumerate(comps):
        tf = None
        if c.tf:
            col = (
                s[c.role].to_numpy()
                if c.kind == "name"
                else (
                    s[f"id_{c.name}"].to_numpy()
                    if c.kind == "identifier"
                    else s[c.column].to_numpy()
                )
            )
            tf = _tf_table(col)
        params.append(
            ComparisonParams(
                name=c.name,
                labels=c.labels,
                m=[float(x) for x in m_final[k]],
                u=[float(x) for x in u[k]],
                fixed=bool(fixed[k]),
                tf=tf,
                tf_floor=1.0 / max(len(s), 1),
            )
        )
    same_source = None
    if u_ss is not None and m_ss:
        m_mean = np.mean(m_ss, axis=0)
        same_source = {"m": [float(x) for x in m_mean], "u": [float(x) for x in u_ss]}
    return Model(
        spec_version=spec.version,
        prior=prior,
        params=params,
        n_records=len(s),
        diagnostics={"sessions": sessions_out, "u_pairs": int(len(ri)), "total_pairs": npairs_all},
        same_source=same_source,
    )


def _same_source_u(codes: np.ndarray, ri: np.ndarray, rj: np.ndarray) -> np.ndarray:
    """u of [one master index, two master indexes] among random pairs of master records."""
    a, b = codes[ri], codes[rj]
    both = (a >= 0) & (b >= 0)
    tot = int(both.sum())
    same = int((both & (a == b)).sum())
    if tot == 0:
        return np.array([0.5, 0.5])
    # a class never seen among random pairs gets half a count (as for comparison levels)
    u = np.maximum(np.array([same, tot - same], np.float64), 0.5) / tot
    return u / u.sum()


def learn_same_source(
    levels: np.ndarray,
    m: list[np.ndarray],
    u: list[np.ndarray],
    lam: float,
    active: np.ndarray,
    codes: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    u_ss: np.ndarray,
    spec: Spec,
) -> np.ndarray | None:
    """m of [one master index, two] among matches of one training session, by EM.

    Within-system duplicates are real (a hospital's second registration of a patient,
    a force's second nominal), but how common they are differs by system and by
    population, so it is learned rather than fixed: the session's pairs get one more
    binary comparison, "both records in one master index", whose m EM estimates with
    every other comparison's m held at the session's values.

    Returns:
        ``[m_same, m_other]``, or None when the session has too few pairs of two
        master records to say.
    """
    x, y = codes[a], codes[b]
    both = (x >= 0) & (y >= 0)
    if int(both.sum()) < 10:
        return None
    ss = np.where(both, np.where(x == y, 0, 1), MISSING).astype(levels.dtype)
    lv = np.column_stack([levels, ss])
    fixed = np.r_[np.ones(len(m), bool), False]
    m_out, _, _ = em(
        lv,
        [*m, np.array([0.1, 0.9])],
        [*u, u_ss],
        lam,
        np.r_[active, True],
        fixed,
        max_iter=spec.em_max_iter,
        tol=spec.em_tolerance,
        min_m=spec.min_m,
    )
    return m_out[-1]
