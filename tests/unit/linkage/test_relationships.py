"""Relationship-derived evidence: stated cannot-links, birth-year bounds, implied sex,
co-parent anchors, household round (within-system pairs: test_within_system.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpgraph.linkage.relationships import (
    anchors,
    household_postcodes,
    implied_sex,
    stated_pairs,
    year_bounds,
)

from .conftest import mention
from .test_engine import link, pid


@pytest.fixture(scope="module")
def base(pop):
    return pop[0]


def rels(*rows):
    return pd.DataFrame(list(rows), columns=["from_key", "to_key", "relationship"])


POS = {"child": 0, "mum": 1, "dad": 2, "gran": 3, "kid2": 4}


def test_year_bounds_follow_generations():
    years = np.array([2014, -1, -1, -1, 1980])
    r = rels(
        ("child", "mum", "mother"), ("child", "gran", "grandparent"), ("kid2", "dad", "child")
    )  # dad is the child of kid2 (born 1980)
    lo, hi = year_bounds(r, POS, years, 12, gap2=26)
    assert hi[1] == 2014 - 12 and np.isneginf(lo[1])
    assert hi[3] == 2014 - 26
    assert lo[2] == 1980 + 12 and np.isposinf(hi[2])
    # the child is bounded by nothing (its relatives have no year)
    assert np.isneginf(lo[0]) and np.isposinf(hi[0])


def test_year_bounds_use_cluster_years_when_given():
    years = np.array([-1, -1, -1, -1, 2010])
    labels = np.array([4, 1, 2, 3, 4])  # the child's mention resolved with a dated record
    lo, hi = year_bounds(rels(("child", "mum", "mother")), POS, years, 12, labels)
    assert hi[1] == 2010 - 12


def test_implied_sex_from_roles():
    r = rels(
        ("child", "mum", "mother"),
        ("child", "dad", "father"),
        ("kid2", "gran", "mother"),
        ("child", "gran", "father"),
    )  # contradictory
    sx = implied_sex(r, POS, 5)
    assert sx[1] == "F" and sx[2] == "M"
    assert sx[3] is None and sx[0] is None


def test_stated_pairs_include_relatives_and_co_listed_relatives():
    keys = np.array(
        ["cs:person:1", "cs:person:2", "cs:person:3", "ed:contact:9", "ed:contact:8"], dtype=object
    )
    pos = {k: i for i, k in enumerate(keys)}
    r = pd.DataFrame(
        [
            ("cs:person:1", "cs:person:2", "mother"),
            ("cs:person:1", "cs:person:3", "father"),
            ("cs:person:1", "ed:contact:9", "mother"),
        ],
        columns=["from_key", "to_key", "relationship"],
    )
    i, j = stated_pairs(r, pos)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == {(0, 1), (0, 2), (0, 3)}
    i, j = stated_pairs(r, pos, keys)
    pairs = set(zip(i.tolist(), j.tolist(), strict=True))
    assert (1, 2) in pairs  # two people one record lists in one file
    assert (1, 3) not in pairs and (2, 3) not in pairs  # different files


def test_co_parents_are_anchored_as_partners():
    labels = np.arange(5)
    r = rels(("child", "mum", "mother"), ("child", "dad", "father"))
    a = anchors(r, POS, labels, co_parents=True)
    got = set(a[a["group"] == "partner"][["rec", "anchor"]].itertuples(index=False))
    assert got == {(1, 2), (2, 1)}
    assert anchors(r, POS, labels, co_parents=False).query("group == 'partner'").empty


def test_name_only_father_is_not_his_namesake_son(fitted, base):
    """A 'father of' contact can be neither the child he is father of (stated) nor, by
    birth years, the child's twin brother who shares his name."""
    kid = dict(surname_m="okafor", postcode="B15 3QQ", dob="2014-10-12", sex="M")
    rows = [
        mention("ed:kid1", system="ed", forename_m="andrew", **kid),
        mention("ed:kid2", system="ed", forename_m="chidi", **kid),
        mention("h:kid2", system="h", forename_m="chidi", **kid),
        mention("ed:dad", system="ed", forename_m="chidi", surname_m="okafor", postcode="B15 3QQ"),
    ]
    r = rels(("ed:kid1", "ed:dad", "father"))
    res = link(fitted, rows, base, relationships=r)
    assert pid(res, "ed:kid2") == pid(res, "h:kid2")
    assert pid(res, "ed:dad") != pid(res, "ed:kid2")
    # without the relationship the namesake father is merged into his son
    res2 = link(fitted, rows, base)
    assert pid(res2, "ed:dad") == pid(res2, "ed:kid2")


def test_relative_without_address_is_found_at_the_childs_home(fitted, base):
    rows = [
        mention(
            "h:kid",
            system="h",
            forename_m="mia",
            surname_m="smith",
            dob="2019-02-03",
            postcode="WV10 6PP",
            sex="F",
        ),
        # common name, no address: a name-only match alone is far from enough
        mention("h:mum", system="h", forename_m="grace", surname_m="smith"),
        mention(
            "p:mum",
            system="p",
            forename_m="grace",
            surname_m="smith",
            dob="1990-05-05",
            postcode="WV10 6PP",
            sex="F",
        ),
    ]
    r = rels(("h:kid", "h:mum", "mother"))
    res = link(fitted, rows, base, relationships=r)
    a = res.assignments.set_index("key")
    assert pid(res, "h:mum") == pid(res, "p:mum")
    assert "relationship:household" in {a.loc["h:mum", "method"], a.loc["p:mum", "method"]}
    res2 = link(fitted, rows, base)
    assert pid(res2, "h:mum") != pid(res2, "p:mum")


def test_household_postcodes_follow_a_move_only_with_the_anchor():
    # child at an old and a new address; mum recorded at the new one, dad at neither,
    # and a second record of the mother without an address
    pc = np.array(["B1 1AA", "B2 2BB", "B2 2BB", "CV1 1CC", None], dtype=object)
    labels = np.array([0, 1, 2, 3, 4])
    labels[1] = 0  # the child's two records are one cluster
    r = rels(("child", "mum", "mother"), ("child", "dad", "father"), ("child", "mum2", "mother"))
    pos = {"child": 0, "kid2": 1, "mum": 2, "dad": 3, "mum2": 4}

    def rows(moves):
        out = household_postcodes(r, pos, labels, pc, ("parent",), moves=moves)
        return sorted(map(tuple, out[["rec", "pc", "moved"]].to_numpy().tolist()))

    assert rows(False) == [(4, "B1 1AA", False), (4, "B2 2BB", False)]
    # mum (at the child's new address) is looked for at the old one; dad lives elsewhere
    assert rows(True) == [(2, "B1 1AA", True), (4, "B1 1AA", False), (4, "B2 2BB", False)]
