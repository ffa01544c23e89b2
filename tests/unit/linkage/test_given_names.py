"""Given names compared alike however an agency split them between columns."""

from __future__ import annotations

import numpy as np

from cpgraph.linkage.engine import LinkageEngine
from cpgraph.linkage.standardise import split_given_names

from .conftest import mention


def test_a_forename_of_several_names_without_a_middle_name_is_split() -> None:
    fn, mn = split_given_names(
        np.array(["john paul", "john", "john paul", "mary", None, "jean paul"], dtype=object),
        np.array([None, "paul", "george", None, None, None], dtype=object),
    )
    assert fn.tolist() == ["john", "john", "john paul", "mary", None, "jean"]
    # a recorded middle name is kept as it is, and so is its forename
    assert mn.tolist() == ["paul", "paul", "george", None, None, "paul"]


def _levels(engine: LinkageEngine, a: dict, b: dict) -> list[tuple[str, str, float]]:
    ex = engine.explain_pair(a, b)
    return [(c.comparison, c.level, round(c.weight, 6)) for c in ex.comparisons]


def test_the_pair_scores_the_same_either_way(fitted: LinkageEngine) -> None:
    nominal = mention(
        "wmp:1",
        system="wmp",
        kind="nominal",
        forename_m="john",
        middle_m="paul",
        surname_m="okafor",
        dob="1990-03-04",
        sex="M",
        postcode="B15 2TT",
    )
    split = dict(nominal, key="uhb:1", system="uhb", kind="patient")
    together = dict(split, forename_m="john paul", middle_m=None)
    levels = _levels(fitted, nominal, split)
    assert ("forename", "exact") in [lv[:2] for lv in levels]
    assert _levels(fitted, nominal, together) == levels
