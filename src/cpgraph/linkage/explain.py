"""Explanations of a pair's score: per comparison level, m, u, weight and TF adjustment."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from cpgraph.linkage.comparisons import MISSING
from cpgraph.linkage.model import Model
from cpgraph.linkage.spec import Spec

if TYPE_CHECKING:
    from cpgraph.linkage.scoring import ScoredPairs


@dataclass(frozen=True)
class ComparisonExplanation:
    """One comparison's contribution."""

    comparison: str
    level: str
    m: float | None
    u: float | None
    weight: float  # bits, TF adjustment included
    tf_adjustment: float


@dataclass(frozen=True)
class Explanation:
    """Why (not) two mentions are one person."""

    comparisons: list[ComparisonExplanation]
    prior_weight: float
    total_weight: float
    probability: float
    deterministic: str | None  # identifier that links outright
    cannot_link: str | None  # reason the pair can never link
    household_guard: bool

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (API / JSON)."""
        return asdict(self)


def explain_scored(sp: ScoredPairs, k: int, model: Model, spec: Spec) -> Explanation:
    """Build the :class:`Explanation` of scored pair ``k``."""
    tf = model.tf_adjustments(sp.levels)
    rows = []
    for c, (cs, p) in enumerate(zip(spec.comparisons, model.params, strict=True)):
        lv = int(sp.levels.levels[k, c])
        if lv == MISSING:
            rows.append(ComparisonExplanation(cs.name, "missing", None, None, 0.0, 0.0))
        else:
            rows.append(
                ComparisonExplanation(
                    cs.name,
                    cs.labels[lv],
                    p.m[lv],
                    p.u[lv],
                    round(float(sp.comp_weights[k, c]), 4),
                    round(float(tf[k, c]), 4),
                )
            )
    cannot = None
    if sp.cannot[k]:
        cid = sp.cannot_identifier[k]
        kept = int(sp.kept[k])
        if cid is not None:
            cannot = f"different {cid}"
        elif kept:
            # a reviewable guard: apart until a steward decides (a possible match)
            cannot = f"kept apart for review: {spec.guard_reviewable[kept - 1]}"
        elif sp.guard[k]:
            cannot = "household look-alike"
        elif sp.age_conflict is None or not sp.age_conflict[k]:
            cannot = (
                "two records of one master index"
                if spec.same_source_cannot
                else "two records of one master index that disagree on "
                + " or ".join(spec.same_source_conflicts)
            )
        else:
            cannot = "birth year contradicts a stated relationship"
    return Explanation(
        comparisons=rows,
        prior_weight=round(model.prior_weight, 4),
        total_weight=round(float(sp.weight[k]), 4),
        probability=float(sp.probability[k]),
        deterministic=sp.deterministic[k],
        cannot_link=cannot,
        household_guard=bool(sp.guard[k]),
    )
