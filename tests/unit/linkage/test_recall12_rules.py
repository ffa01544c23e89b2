"""Spec 23-recall12 (issue #13): a child's mother recorded by two agencies under two
surnames (`unique_role_surname_change`) and at two of the child's own addresses
(`unique_role_anchor_places`) is one woman; two children of one mother whose birth
dates disagree are two children, whatever the rounds' bonus (`parted_dates`).  The first
two are shipped off (measured: +4 false pairs on one tuning run); the tests turn them on."""

from __future__ import annotations

import pandas as pd

from cpgraph.linkage import LinkageEngine
from cpgraph.linkage.relationships import unique_role_placed
from cpgraph.linkage.spec import DEFAULT_SPEC_PATH, loads_spec

from .conftest import mention

# shipped off (they measured +4 false pairs on one tuning run); the tests turn them on
SURNAME_OFF = "unique_role_surname_change = []"
SURNAME = 'unique_role_surname_change = ["exact", "nickname", "jw>=0.92"]'
PLACES_OFF = "unique_role_anchor_places = false"
PLACES = "unique_role_anchor_places = true"
PARTED = "parted_dates = true"


def _spec(
    surname: str | None = SURNAME, places: bool = True, parted: bool = True, bonus: float = 18.0
):
    """The shipped spec with the keys set (None / False: removed) and the rounds' bonus.
    (The small test model's prior is mild: with the shipped 18 bits the bonus alone
    carries a maiden name; 8 bits leave the surnames' and addresses' weights to decide.)"""
    text = DEFAULT_SPEC_PATH.read_text()
    assert "weight = 18.0\n" in text
    text = text.replace("weight = 18.0\n", f"weight = {bonus}\n")
    for key in (SURNAME_OFF, PLACES_OFF, PARTED):
        assert key in text
    text = text.replace(SURNAME_OFF, "" if surname is None else surname)
    text = text.replace(PLACES_OFF, PLACES if places else "")
    return loads_spec(text.replace(PARTED, PARTED if parted else ""))


def test_the_shipped_spec_holds_the_rules(spec):
    assert int(spec.version) >= 24
    assert spec.rel_parted_dates
    # measured and shipped off (bench/RESULTS.md "Spec 23-recall12")
    assert spec.rel_unique_surname_change == ()
    assert not spec.rel_unique_anchor_places
    on = _spec()
    assert on.rel_unique_surname_change == ("exact", "nickname", "jw>=0.92")
    assert on.rel_unique_anchor_places
    off = _spec(None, False, False)
    assert off.rel_unique_surname_change == ()
    assert not off.rel_unique_anchor_places
    assert not off.rel_parted_dates


NEW = dict(postcode="B12 3AB", address="4 Elm Road")
OLD = dict(postcode="DY4 4QQ", address="9 Mill Lane")
KID = dict(forename_m="julie", surname_m="carter", dob="2016-04-09", sex="F")
MOTHER = [
    ("ed:kid", "ed:mum", "mother"),
    ("hl:kid", "hl:mum", "mother"),
]


def _link(sp, rows, rels, fitted, pop) -> pd.Series:
    df = pd.concat([pop[0], pd.DataFrame(rows)], ignore_index=True)
    rel = pd.DataFrame(rels, columns=["from_key", "to_key", "relationship"])
    res = LinkageEngine(sp).link(df, relationships=rel, model=fitted.model)
    return res.assignments.set_index("key")["person_id"]


def _mothers(hl_mum: dict, kid_old: bool = False) -> list[dict]:
    """Julie's school record and its mother contact "Tracy Carter" (undated) at the new
    address; the hospital's Julie (the same NHS number: one child, whatever the
    addresses) at the new address (``kid_old``: the old one) and its related person
    "Tracy" (``hl_mum``: her surname and address)."""
    nhs = dict(nhs_number="9434765919", nhs_number_valid=True)
    return [
        mention("ed:kid", system="ed", kind="pupil", **NEW, **KID, **nhs),
        mention(
            "ed:mum", system="ed", kind="contact", forename_m="tracy", surname_m="carter", **NEW
        ),
        mention("hl:kid", system="hl", kind="patient", **(OLD if kid_old else NEW), **KID, **nhs),
        mention("hl:mum", system="hl", kind="related_person", forename_m="tracy", **hl_mum),
    ]


def test_a_mother_under_her_maiden_name_is_one_mother(fitted, pop):
    """The hospital's "Tracy Mitchell", mother of Julie (no address), and the school's
    "Tracy Carter", mother of Julie: one woman with the rule; without it her surnames'
    disagreement keeps the pair below `auto` (`surname_change` alone made it compatible).
    A "Sharon Mitchell", mother of Julie, is not made one with her by the rule."""
    rows = _mothers(dict(surname_m="mitchell"))
    pid = _link(_spec(bonus=8.0), rows, MOTHER, fitted, pop)
    assert pid["ed:mum"] == pid["hl:mum"]
    pid = _link(_spec(None, bonus=8.0), rows, MOTHER, fitted, pop)
    assert pid["ed:mum"] != pid["hl:mum"]
    rows[3]["forename_m"] = "sharon"
    pid = _link(_spec(), rows, MOTHER, fitted, pop)
    assert pid["ed:mum"] != pid["hl:mum"]


def test_a_mother_at_two_of_the_childs_addresses_is_one_mother(fitted, pop):
    """Julie is recorded at the new address by the school and at the old one by the
    hospital; so is her mother ("Tracy Mitchell" at the old one): one woman with the
    rule.  Without it the two addresses' disagreement keeps the pair below `auto`; and
    when Julie herself is nowhere recorded at the old address, the mother's two
    addresses are not explained by hers."""
    rows = _mothers(dict(surname_m="mitchell", **OLD), kid_old=True)
    pid = _link(_spec(bonus=8.0), rows, MOTHER, fitted, pop)
    assert pid["ed:mum"] == pid["hl:mum"]
    pid = _link(_spec(places=False, bonus=8.0), rows, MOTHER, fitted, pop)
    assert pid["ed:mum"] != pid["hl:mum"]
    rows = _mothers(dict(surname_m="mitchell", **OLD), kid_old=False)
    pid = _link(_spec(bonus=8.0), rows, MOTHER, fitted, pop)
    assert pid["ed:mum"] != pid["hl:mum"]


def test_unique_role_placed_reads_the_anchors_places():
    """Pairs (0, 1) and (0, 2) stated as mother of the child (records 3 and 4, one
    person): the child is at places 0 and 1, so (0, 1) at places 0 and 1 is placed, (0, 2)
    at places 0 and 2 is not, and a pair at one place needs nothing."""
    rels = pd.DataFrame(
        {
            "from_pos": [3, 4, 4],
            "to_pos": [0, 1, 2],
            "relationship": ["mother", "mother", "mother"],
        }
    )
    labels = pd.Series([0, 0, 0, 1, 1]).to_numpy()
    places = pd.Series([0, 1, 2, 0, 1]).to_numpy()
    i = pd.Series([0, 0, 0]).to_numpy()
    j = pd.Series([1, 2, 0]).to_numpy()
    out = unique_role_placed(rels, labels, ("mother",), places, i, j)
    assert out.tolist() == [True, False, False]
    assert not unique_role_placed(rels, labels, ("father",), places, i, j).any()


SIBS = [
    ("ed:c1", "ed:mum", "mother"),
    ("hl:c2", "hl:mum", "mother"),
]


def _siblings(dob2: str) -> list[dict]:
    """A mother recorded by the school and the hospital (one woman: name, birth date,
    address), her son "Andre Clarke" (school, 2018) and "Andrew Clarke" (hospital)."""
    mum = dict(forename_m="sarah", surname_m="clarke", dob="1990-02-03", sex="F", **NEW)
    return [
        mention("ed:mum", system="ed", kind="contact", **mum),
        mention("hl:mum", system="hl", kind="related_person", **mum),
        mention(
            "ed:c1",
            system="ed",
            kind="pupil",
            forename_m="andre",
            surname_m="clarke",
            dob="2018-12-29",
            sex="M",
            **NEW,
        ),
        mention(
            "hl:c2",
            system="hl",
            kind="patient",
            forename_m="andrew",
            surname_m="clarke",
            dob=dob2,
            sex="M",
            **NEW,
        ),
    ]


def test_two_sons_of_one_mother_born_years_apart_are_two_sons(fitted, pop):
    """Sons of one mother, "Andre" (2018) and "Andrew" (2021), at one address: with the
    rule the rounds' bonus does not join them across their birth dates; a birth date one
    keying slip off ("2018-12-28") is no disagreement, and the two are one boy."""
    pid = _link(_spec(), _siblings("2021-05-21"), SIBS, fitted, pop)
    assert pid["ed:mum"] == pid["hl:mum"]
    assert pid["ed:c1"] != pid["hl:c2"]
    pid = _link(_spec(parted=False), _siblings("2021-05-21"), SIBS, fitted, pop)
    assert pid["ed:c1"] == pid["hl:c2"]  # (spec 23: the bonus outweighed the dates)
    pid = _link(_spec(), _siblings("2018-12-28"), SIBS, fitted, pop)
    assert pid["ed:c1"] == pid["hl:c2"]
