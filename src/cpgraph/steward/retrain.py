"""Decisions as labels: re-estimate m (and blend u) from steward-labelled pairs.

The unsupervised model learns m by EM. Steward decisions are labels: a LINK pair is
a known match, a NO_LINK pair a known non-match. `retrain_model` compares the
labelled pairs with the engine's own comparer and updates the model:

* ``m`` (per non-fixed comparison and level): the LINK pairs' level counts, blended
  with the current m as ``m_strength`` pseudo-pairs — labelled pairs come from the
  review queue, i.e. the hard cases, so they refine rather than replace EM's m.
* ``u``: labelled non-matches are hard negatives, not random pairs, so they move u
  only a little: a share ``min(u_max_share, n / (n + u_strength))`` of u comes from
  their level frequencies.

Identifier comparisons with a fixed m keep it, the prior and term-frequency tables
stay as they were. No engine internals change: the model is handed to
``LinkageEngine.link(model=...)``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cpgraph.linkage.comparisons import MISSING
from cpgraph.linkage.engine import LinkageEngine
from cpgraph.linkage.model import Model

M_STRENGTH = 100.0
U_STRENGTH = 2000.0
U_MAX_SHARE = 0.05
MIN_M = 0.001


@dataclass(slots=True)
class RetrainReport:
    """What retraining used and changed."""

    link_pairs: int
    no_link_pairs: int
    comparisons: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (run summary)."""
        return {
            "link_pairs": self.link_pairs,
            "no_link_pairs": self.no_link_pairs,
            "comparisons": self.comparisons,
        }


def _freq(levels: np.ndarray, n_levels: int) -> tuple[np.ndarray, int]:
    ok = levels[levels != MISSING]
    return np.bincount(ok, minlength=n_levels).astype(np.float64), int(len(ok))


def retrain_model(
    engine: LinkageEngine,
    mentions: pd.DataFrame,
    base: Model,
    labels: Sequence[tuple[str, str, str]],
    *,
    m_strength: float = M_STRENGTH,
    u_strength: float = U_STRENGTH,
    u_max_share: float = U_MAX_SHARE,
) -> tuple[Model, RetrainReport]:
    """A copy of `base` with m re-estimated and u blended from labelled pairs.

    Args:
        engine: the engine whose spec and comparer define the comparison levels.
        mentions: every mention (input contract), as linkage reads them.
        base: the current model (last run's, or freshly fitted).
        labels: ``(key_a, key_b, 'LINK' | 'NO_LINK')``; pairs with unknown keys are
            skipped.
        m_strength: pseudo-pairs of the current m in the blend.
        u_strength: pseudo-pairs of the current u in the blend.
        u_max_share: the most of u that labelled non-matches may make up.

    Returns:
        The retrained model and a report.
    """
    # the engine's own comparer, with the forename variants the model was trained with
    comparer = engine.comparer(mentions, base)
    pos = pd.Series(np.arange(len(comparer.s)), index=comparer.s["key"].to_numpy())
    rows = [
        (int(pos[a]), int(pos[b]), v == "LINK")
        for a, b, v in labels
        if a in pos.index and b in pos.index and a != b and v in ("LINK", "NO_LINK")
    ]
    model = copy.deepcopy(base)
    report = RetrainReport(
        link_pairs=sum(1 for r in rows if r[2]), no_link_pairs=sum(1 for r in rows if not r[2])
    )
    if not rows:
        return model, report
    arr = np.asarray(rows, dtype=np.int64)
    lv = comparer.compare(arr[:, 0], arr[:, 1]).levels
    is_link = arr[:, 2].astype(bool)
    for k, p in enumerate(model.params):
        nl = len(p.m)
        old_m, old_u = np.asarray(p.m, float), np.asarray(p.u, float)
        entry: dict[str, Any] = {
            "m_before": [round(x, 5) for x in old_m],
            "u_before": [round(x, 6) for x in old_u],
        }
        if not p.fixed:
            counts, n = _freq(lv[is_link, k], nl)
            if n:
                m = (counts + m_strength * old_m) / (n + m_strength)
                m = np.maximum(m, MIN_M)
                p.m = [float(x) for x in m / m.sum()]
        counts, n = _freq(lv[~is_link, k], nl)
        if n:
            share = min(u_max_share, n / (n + u_strength))
            u = (1.0 - share) * old_u + share * (counts / n)
            u = np.maximum(u, 1e-9)
            p.u = [float(x) for x in u / u.sum()]
        entry["m_after"] = [round(x, 5) for x in p.m]
        entry["u_after"] = [round(x, 6) for x in p.u]
        report.comparisons[p.name] = entry
    model.diagnostics = {
        **model.diagnostics,
        "retrained": {
            "link_pairs": report.link_pairs,
            "no_link_pairs": report.no_link_pairs,
            "m_strength": m_strength,
            "u_strength": u_strength,
            "u_max_share": u_max_share,
        },
    }
    return model, report
