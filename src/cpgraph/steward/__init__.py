"""Data steward review: the queue of uncertain matches, decisions that stick, retraining.

Decisions are append-only `Decision` nodes. Each is applied to the graph at once
(records move between persons, ids stay stable), audited in the hash chain, and
read back by linkage as constraints (`load_constraints`) and as labels (`retrain`).
"""

from __future__ import annotations

from cpgraph.steward.decisions import Actor, DecisionOutcome, load_constraints
from cpgraph.steward.errors import (
    StewardBadInputError,
    StewardConflictError,
    StewardForbiddenError,
    StewardNotFoundError,
)
from cpgraph.steward.service import STEWARD_ROLES, StewardService

__all__ = [
    "STEWARD_ROLES",
    "Actor",
    "DecisionOutcome",
    "StewardBadInputError",
    "StewardConflictError",
    "StewardForbiddenError",
    "StewardNotFoundError",
    "StewardService",
    "load_constraints",
]
