"""Evaluation of a clustering against truth, from cluster contingency counts.

Pairwise and B-cubed metrics are computed from the counts ``n_ij`` of records in
predicted cluster i and true cluster j (one ``groupby``), never by enumerating pairs,
so one million mentions evaluate in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Evaluation:
    """Linkage quality figures."""

    records: int
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int
    precision: float
    recall: float
    f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    hard_negatives: int
    hard_negative_merges: int
    hard_negative_merges_by_kind: dict[str, int]

    def as_dict(self) -> dict:
        """Plain dict (for JSON/printing)."""
        return asdict(self)


def _c2(x: np.ndarray) -> int:
    x = x.astype(np.int64)
    return int((x * (x - 1) // 2).sum())


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _as_series(x: Mapping[str, str] | pd.Series) -> pd.Series:
    return x if isinstance(x, pd.Series) else pd.Series(dict(x), dtype=object)


def evaluate(
    assignment: Mapping[str, str] | pd.Series,
    truth: Mapping[str, str] | pd.Series,
    hard_negatives: Iterable[tuple[str, str, str]] | pd.DataFrame | None = None,
) -> Evaluation:
    """Compare predicted clusters with true ones.

    Args:
        assignment: record key → predicted person id.  Keys absent here but present in
            ``truth`` count as singletons.
        truth: record key → true person id (only these keys are evaluated).
        hard_negatives: ``(key_a, key_b, kind)`` look-alike pairs of different people.

    Returns:
        Pairwise precision/recall/F1, B-cubed figures and hard-negative wrong merges.
    """
    t = _as_series(truth).astype(str)
    a = _as_series(assignment).astype(str).reindex(t.index)
    missing = a.isna()
    a = a.astype(object)
    a[missing] = ["\0singleton:" + k for k in t.index[missing]]
    pc = pd.factorize(a.to_numpy())[0]
    tc = pd.factorize(t.to_numpy())[0]
    n = len(t)
    cell = pd.DataFrame({"p": pc, "t": tc}).groupby(["p", "t"]).size()
    nij = cell.to_numpy(np.int64)
    ai = np.bincount(pc).astype(np.int64)
    bj = np.bincount(tc).astype(np.int64)
    tp, pp, tpairs = _c2(nij), _c2(ai), _c2(bj)
    prec = tp / pp if pp else 1.0
    rec = tp / tpairs if tpairs else 1.0
    if n:
        pi = cell.index.get_level_values(0).to_numpy()
        ti = cell.index.get_level_values(1).to_numpy()
        sq = nij.astype(np.float64) ** 2
        bp = float((sq / ai[pi]).sum() / n)
        br = float((sq / bj[ti]).sum() / n)
    else:
        bp = br = 1.0
    hn = 0
    merges = 0
    by_kind: dict[str, int] = {}
    if hard_negatives is not None:
        rows = (
            hard_negatives.itertuples(index=False, name=None)
            if isinstance(hard_negatives, pd.DataFrame)
            else hard_negatives
        )
        amap = a.to_dict()
        for row in rows:
            ka, kb = row[0], row[1]
            kind = str(row[2]) if len(row) > 2 else "hard_negative"
            hn += 1
            by_kind.setdefault(kind, 0)
            if ka in amap and kb in amap and amap[ka] == amap[kb]:
                merges += 1
                by_kind[kind] += 1
    return Evaluation(
        records=n,
        true_pairs=tpairs,
        predicted_pairs=pp,
        true_positive_pairs=tp,
        precision=prec,
        recall=rec,
        f1=_f1(prec, rec),
        bcubed_precision=bp,
        bcubed_recall=br,
        bcubed_f1=_f1(bp, br),
        hard_negatives=hn,
        hard_negative_merges=merges,
        hard_negative_merges_by_kind=by_kind,
    )
