"""Spec 19: a relationship link never joins two generations (`GenerationGuard`)."""

from __future__ import annotations

import numpy as np

from cpgraph.linkage.clustering import GenerationGuard, constrained_components, year_slip
from cpgraph.linkage.spec import load_spec, spec_from_dict

# 0: a hospital's "Ben Barry, father of" the baby, born 1982 (dated, no address)
# 1: the school's undated "Ben Barry, father of" the same baby
# 2: the namesake son's own record, born 2003 (the first round put 1 with him)
# 3: the father's own nominal, born 1982
YEARS = np.array([1982, -1, 2003, 1982], np.int64)


def _cluster(edges, relationship, guard_years=18):
    ei = np.array([e[0] for e in edges], np.int64)
    ej = np.array([e[1] for e in edges], np.int64)
    w = np.array([e[2] for e in edges], float)
    pr = np.full(len(edges), 2, np.int64)
    none = np.empty(0, np.int64)
    guard = None
    if guard_years:
        guard = GenerationGuard(YEARS, np.array(relationship, bool), guard_years)
    got, _ = constrained_components(4, ei, ej, w, pr, none, none, np.empty(0, bool), years=guard)
    return got


# the school's father and the son (scored, at one address: strongest); the two "father
# of" mentions of one child (a relationship link); the hospital's father and his own
# nominal (scored, weaker: no address on one side)
EDGES = [(1, 2, 40.0), (0, 1, 30.0), (0, 3, 10.0)]
RELATIONSHIP = [False, True, False]


def test_a_relationship_link_does_not_join_a_dated_father_to_his_namesake_son():
    lab = _cluster(EDGES, RELATIONSHIP)
    assert lab[0] != lab[2]  # 1982 and 2003: two generations, never one person
    assert lab[0] == lab[3]  # the hospital's father is the father's own nominal
    assert lab[1] == lab[2]  # (the undated mention is the ambiguity pass's question)


def test_without_the_guard_the_relationship_link_joins_them():
    lab = _cluster(EDGES, RELATIONSHIP, guard_years=0)
    assert lab[0] == lab[2] == lab[1]


def test_the_guard_reads_only_relationship_links_and_only_a_generation():
    # a scored link: its two records' dates were compared by the model, not by the guard
    assert len(set(_cluster(EDGES, [False, False, False]).tolist())) == 1
    # birth years within the gap (a keyed year slip) do not stop a relationship link
    lab = _cluster(EDGES, RELATIONSHIP, guard_years=22)
    assert lab[0] == lab[2]


def test_the_generation_guard_is_a_spec_key_off_when_absent():
    raw = load_spec().raw
    rel = {k: v for k, v in raw["relationship"].items() if k != "generation_guard_years"}
    assert load_spec().rel_generation_guard == 18
    assert spec_from_dict({**raw, "relationship": rel}).rel_generation_guard == 0


def test_a_year_keyed_with_one_slip_is_no_generation():
    """messy_dates s41 lost 0.0014 recall to the guard until it read a mistyped year
    ("1978" keyed "1998") as one woman, and s42 one more person until a group's years
    were read as a whole: such joins stand, a generation does not."""
    assert year_slip(1978, 1998)  # one digit
    assert year_slip(1989, 1998)  # two adjacent digits swapped
    assert not year_slip(1982, 2003)
    assert not year_slip(1982, 2002)
    guard = GenerationGuard(YEARS, np.array(RELATIONSHIP, bool), 18)
    assert not guard.apart({1978}, {1998})
    assert guard.apart({1978, 1982}, {2003})
    assert not guard.apart({1982}, {1990})
    # one woman's hospital record keyed "1919" for 1991: her prison record of 1990 is hers
    # (s42 messy_dates: a cross-pair test of every year parted her)
    assert not guard.apart({1991, 1919}, {1990})
