"""Birth dates keyed with slips are no evidence of two people (spec v12, issue #13).

Two rules read a birth date as possibly keyed with a slip: the generation bounds of
stated relationships (``[relationship] year_slips``: a year's last two digits swapped)
and the household guard's "born far apart" test (``[guards] dob_far_slips``: dates a
few keying slips apart are one date).  Each test turns its rule off to show what it
changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpgraph.linkage import load_spec
from cpgraph.linkage.relationships import swapped_years, year_bounds
from tests.specs import engine_with, link_with

from .conftest import mention
from .test_engine import pid


@pytest.fixture(scope="module")
def base(pop):
    return pop[0]


def test_shipped_spec_reads_dates_as_possibly_mistyped():
    spec = load_spec()
    assert int(spec.version.split("-")[0]) >= 12
    assert spec.rel_year_slips is True
    assert spec.guard_dob_far_slips == 2


def test_a_year_swaps_its_last_two_digits_only_into_a_year_already_recorded():
    years = np.array([2012, 1959, 2003, 1988, -1, 2024])
    got = swapped_years(np.where(years >= 0, years, np.nan).astype(float), years)
    # 2003 -> 2030 lies after every recorded birth; 1988 swaps into itself
    assert got[:4].tolist() == [2021.0, 1995.0, 2003.0, 1988.0]
    assert np.isnan(got[4])


def test_generation_bounds_take_the_more_lenient_reading_of_a_relatives_year():
    pos = {"child": 0, "mum": 1, "kid2": 2, "dad": 3}
    rels = pd.DataFrame(
        [("child", "mum", "mother"), ("kid2", "dad", "child")],
        columns=["from_key", "to_key", "relationship"],
    )  # dad is the child of kid2
    years = np.array([2012, -1, 2021, -1])
    lo, hi = year_bounds(rels, pos, years, 18)
    assert hi[1] == 2012 - 18 and lo[3] == 2021 + 18
    lo, hi = year_bounds(rels, pos, years, 18, slips=True)
    # the child "born 2012" may be the child born 2021 keyed with a slip
    assert hi[1] == 2021 - 18
    # ...and a parent "born 2021" one born 2012
    assert lo[3] == 2012 + 18


def test_in_a_clustering_round_a_relatives_years_are_its_persons_years():
    """Once records are resolved, the child's other records say which reading is right:
    the bound takes the latest year the child's person gives, not a swap none supports."""
    pos = {"child": 0, "mum": 1, "child2": 2}
    rels = pd.DataFrame(
        [("child", "mum", "mother")], columns=["from_key", "to_key", "relationship"]
    )
    years = np.array([2012, -1, 2021])
    same = np.array([0, 1, 0])  # the "2012" record resolved with a record of 2021
    _, hi = year_bounds(rels, pos, years, 18, same, slips=True)
    assert hi[1] == 2021 - 18
    apart = np.array([0, 1, 2])  # nothing supports 2021: the recorded year bounds
    _, hi = year_bounds(rels, pos, years, 18, apart, slips=True)
    assert hi[1] == 2012 - 18


MUM = dict(forename_m="zofia", surname_m="nowak", postcode="B15 3QQ")


def _mother_and_child():
    """A school's contact "Zofia Nowak, mother of Maja", Maja's pupil record with her
    birth year's digits swapped (2012 for 2021), and Zofia's own dated council record
    (born 2000) at the same address."""
    kid = dict(forename_m="maja", surname_m="nowak", postcode="B15 3QQ", sex="F")
    rows = [
        mention("ed:pupil:1", system="ed", kind="pupil", dob="2012-05-03", **kid),
        mention("h:patient:1", system="h", kind="patient", dob="2021-05-03", **kid),
        mention("ed:contact:1", system="ed", kind="contact", **MUM),
        mention("cs:person:1", system="cs", kind="person", dob="2000-09-06", sex="F", **MUM),
    ]
    rels = pd.DataFrame(
        [("ed:pupil:1", "ed:contact:1", "mother")],
        columns=["from_key", "to_key", "relationship"],
    )
    return rows, rels


def test_a_mistyped_childs_year_does_not_part_the_mother_from_her_own_record(fitted, base):
    rows, rels = _mother_and_child()
    on = link_with(engine_with("relationship", year_slips=True), fitted.model, base, rows, rels)
    assert pid(on, "ed:contact:1") == pid(on, "cs:person:1")
    assert pid(on, "ed:pupil:1") == pid(on, "h:patient:1")
    # without the rule the pupil's "2012" says the mother was born by 1994 (1995 with a
    # year's tolerance): her own record of 2000 contradicts it and the two stay apart
    off = link_with(engine_with("relationship", year_slips=False), fitted.model, base, rows, rels)
    assert pid(off, "ed:contact:1") != pid(off, "cs:person:1")


def test_a_year_that_swaps_into_nothing_plausible_still_bounds(fitted, base):
    """The rule reads a slip, not any year: a mother's record born 2010 is no mother of a
    child born 2023 (2010 swaps to 2001 — plausible — but 2023 swaps to 2032, after every
    recorded birth), so a mother's record born 2019 stays apart whatever the slips."""
    rows, rels = _mother_and_child()
    rows[0]["dob"] = rows[1]["dob"] = "2023-05-03"
    rows[3]["dob"] = "2019-09-06"
    on = link_with(engine_with("relationship", year_slips=True), fitted.model, base, rows, rels)
    assert pid(on, "ed:contact:1") != pid(on, "cs:person:1")
    # (what keeps them apart is the bound: without generation bounds they link)
    free = link_with(
        engine_with("relationship", generation_gap_years=0), fitted.model, base, rows, rels
    )
    assert pid(free, "ed:contact:1") == pid(free, "cs:person:1")


SAM = dict(forename_m="samuel", surname_m="vaughan", postcode="B5 8DF", sex="M")


def test_two_slips_apart_is_one_birth_date_for_the_household_guard(fitted):
    """One man at one address, his year's digits swapped on one record and his day a day
    out on the other (1995-05-14 / 1959-05-15): 36 years apart by the years, but two
    keying slips of one date — not a father and his namesake son."""
    a = mention("cs:person:1", system="cs", kind="person", dob="1959-05-14", **SAM)
    b = mention("p:prisoner:1", system="p", kind="prisoner", dob="1995-05-15", **SAM)
    on = engine_with("guards", dob_far_slips=2).explain_pair(a, b, model=fitted.model)
    assert on.cannot_link is None and not on.household_guard
    off = engine_with("guards", dob_far_slips=0).explain_pair(a, b, model=fitted.model)
    assert off.cannot_link == "household look-alike"
    # a father and son born on different days stay a household look-alike
    son = {**b, "dob": "1995-08-21"}
    assert (
        engine_with("guards", dob_far_slips=2)
        .explain_pair(a, son, model=fitted.model)
        .household_guard
    )


def test_a_son_whose_year_might_be_swapped_is_still_not_his_father(fitted, base):
    """Mohamed Yusuf senior, known from a dated hospital record, is "father of" a girl born
    2019; his namesake son was born 2010 (pupil and hospital records agree).  2010 swapped
    is 2001, old enough to be her father, but none of the son's records says 2001: the
    name-only father mention goes to the father, as without the rule."""
    yusuf = dict(surname_m="yusuf", postcode="B20 6HY")
    son = dict(forename_m="mohamed", sex="M", dob="2010-01-03", **yusuf)
    rows = [
        mention("ed:pupil:1", system="ed", kind="pupil", **son),
        mention("h:patient:1", system="h", kind="patient", **son),
        mention(
            "ed:pupil:2",
            system="ed",
            kind="pupil",
            forename_m="fadumo",
            sex="F",
            dob="2019-06-17",
            **yusuf,
        ),
        mention(
            "h:patient:2",
            system="h",
            kind="patient",
            forename_m="mohamed",
            sex="M",
            dob="1978-11-30",
            **yusuf,
        ),
        mention("ed:contact:1", system="ed", kind="contact", forename_m="mohamed", **yusuf),
    ]
    rels = pd.DataFrame(
        [("ed:pupil:2", "ed:contact:1", "father")],
        columns=["from_key", "to_key", "relationship"],
    )
    for slips in (True, False):
        res = link_with(
            engine_with("relationship", year_slips=slips), fitted.model, base, rows, rels
        )
        assert pid(res, "ed:contact:1") == pid(res, "h:patient:2")
        assert pid(res, "ed:contact:1") != pid(res, "ed:pupil:1")
