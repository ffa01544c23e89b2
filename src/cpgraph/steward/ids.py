"""Person ids and match probabilities for steward code, without importing linkage.

Steward code and `cpgraph review` must start fast; `cpgraph.linkage` pulls in pandas
and the engine.
"""

from __future__ import annotations

from cpgraph.keys import format_person_id, person_id_counter

# The person id format has one owner (`cpgraph.keys`); steward code imports it from here
# so `cpgraph review` starts without linkage's pandas.
format_id = format_person_id
counter_of = person_id_counter


def weight_probability(weight: float) -> float:
    """Match probability of a weight in bits (as `cpgraph.linkage.model.probability`)."""
    return 1.0 / (1.0 + 2.0 ** (-min(max(weight, -1000.0), 1000.0)))
