"""Person ids as linkage makes them (``P`` + 10 digits), without importing linkage.

Steward code and `cpgraph review` must start fast; `cpgraph.linkage` pulls in pandas
and the engine. The format is the one in `cpgraph.linkage.clustering` (a unit test
checks they agree).
"""

from __future__ import annotations

ID_PREFIX = "P"
ID_DIGITS = 10


def format_id(counter: int) -> str:
    """Person id for a counter value: ``P`` + 10 zero-padded digits."""
    return f"{ID_PREFIX}{counter:0{ID_DIGITS}d}"


def counter_of(pid: str) -> int:
    """The counter of a generated id (0 for any other id)."""
    if pid.startswith(ID_PREFIX) and pid[len(ID_PREFIX) :].isdigit():
        return int(pid[len(ID_PREFIX) :])
    return 0


def weight_probability(weight: float) -> float:
    """Match probability of a weight in bits (as `cpgraph.linkage.model.probability`)."""
    return 1.0 / (1.0 + 2.0 ** (-min(max(weight, -1000.0), 1000.0)))
