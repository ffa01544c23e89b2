"""Spec v8: a surname one record states as the other's alias corroborates a move."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpgraph.linkage import LinkageEngine
from cpgraph.linkage.spec import DEFAULT_SPEC_PATH, SpecError, loads_spec
from cpgraph.linkage.standardise import name_variants, standardise

from .conftest import mention

# the new partner: living with the child under one surname, known to another force
# (other address) under another; each side lists the other surname as an alias; a PNC id
# on one record, a CRO number on the other
HOME = dict(
    forename_m="daniel",
    surname_m="kowalski",
    aliases_m=["daniel smith"],
    dob="1988-06-14",
    sex="M",
    postcode="B15 2TT",
    pnc_id="2009/0123456Z",
    pnc_id_valid=True,
)
AWAY = dict(
    forename_m="daniel",
    surname_m="smith",
    aliases_m=["daniel kowalski"],
    dob="1988-06-14",
    sex="M",
    postcode="CV1 9ZZ",
    cro_number="123456/09X",
)


def _spec(*, alias: bool = True, auto: str | None = None):
    text = DEFAULT_SPEC_PATH.read_text()
    if not alias:
        old = "alias_corroborates = true"
        assert old in text
        text = text.replace(old, "alias_corroborates = false")
    if auto:
        assert "auto = 0.95" in text
        text = text.replace("auto = 0.95", f"auto = {auto}")
    return loads_spec(text)


def _link(fitted, rows, base, spec, **kw):
    df = pd.concat([base, pd.DataFrame(rows)], ignore_index=True)
    return LinkageEngine(spec).link(df, model=fitted.model, **kw)


def _pid(res, key):
    return res.assignments.set_index("key").loc[key, "person_id"]


@pytest.fixture(scope="module")
def base(pop):
    return pop[0]


def _comparer(rows, spec):
    eng = LinkageEngine(spec)
    return eng.comparer(pd.DataFrame(rows))


def test_alias_surname_either_direction_only_when_recorded_surnames_differ(spec):
    rows = [
        mention("a", **HOME),
        mention("b", **AWAY),
        # only one side states the alias
        mention("c", **{**AWAY, "aliases_m": []}),
        # a stranger with the same name and birthday, no alias anywhere
        mention("d", **{**AWAY, "aliases_m": [], "surname_m": "jones"}),
        # the recorded surnames already agree: the alias adds nothing
        mention("e", **{**HOME, "aliases_m": ["daniel kowalski"]}),
    ]
    c = _comparer(rows, spec)
    got = c.alias_surname(np.array([0, 0, 0, 1, 0]), np.array([1, 2, 3, 2, 4]))
    assert got.tolist() == [True, True, False, False, False]


def test_former_surname_counts_as_a_stated_name(spec):
    rows = [
        mention("a", forename_m="helen", surname_m="nowak", former_surname_m="baker"),
        mention("b", forename_m="helen", surname_m="baker"),
    ]
    c = _comparer(rows, spec)
    assert c.alias_surname(np.array([0]), np.array([1])).tolist() == [True]
    s = standardise(pd.DataFrame(rows), spec)
    assert len(name_variants(s)) > 2  # the former surname is a variant of its own


def test_new_partner_under_alias_in_another_force_joins_him(fitted, base):
    # (the small test model weighs a postcode change heavily; a lower `auto` makes the
    # pair a link on evidence, so that only the gate can keep it apart)
    rows = [mention("cs:partner", system="cs", kind="person", **HOME)]
    rows.append(mention("wmerc:nominal", system="wmerc", kind="nominal", **AWAY))
    res = _link(fitted, rows, base, _spec(auto="0.65"))
    assert _pid(res, "cs:partner") == _pid(res, "wmerc:nominal")
    # without the rule the place gate keeps them apart: a possible match for a steward
    res2 = _link(fitted, rows, base, _spec(alias=False, auto="0.65"))
    assert _pid(res2, "cs:partner") != _pid(res2, "wmerc:nominal")
    q = res2.review
    row = q[(q["key_a"] == "wmerc:nominal") | (q["key_b"] == "wmerc:nominal")].iloc[0]
    assert row["reason"] == "different_addresses"
    assert "alias" in row["evidence"]


def test_alias_needs_the_birth_date_and_no_sex_clash(fitted, base):
    spec = _spec(auto="0.65")
    far = dict(AWAY, dob="1979-02-01")
    rows = [
        mention("cs:partner", system="cs", kind="person", **HOME),
        mention("wmerc:nominal", system="wmerc", kind="nominal", **far),
    ]
    res = _link(fitted, rows, base, spec)
    assert _pid(res, "cs:partner") != _pid(res, "wmerc:nominal")
    eng = LinkageEngine(spec)
    levels = np.zeros((1, len(spec.comparisons)), np.int8)
    comparer = eng.comparer(pd.DataFrame([mention("a", **HOME), mention("b", **AWAY)]))
    pair = (np.array([0]), np.array([1]))
    assert eng.alias_evidence(comparer, levels, *pair).tolist() == [True]
    sex = spec.names.index("sex")
    levels[0, sex] = len(spec.comparison("sex").levels)  # "else": the sexes differ
    assert eng.alias_evidence(comparer, levels, *pair).tolist() == [False]


def test_pnc_and_cro_are_different_kinds_never_a_cannot_link(fitted, base):
    rows = [
        mention("cs:partner", system="cs", kind="person", **HOME),
        mention("wmerc:nominal", system="wmerc", kind="nominal", **AWAY),
    ]
    res = _link(fitted, rows, base, _spec(alias=False, auto="0.65"))
    q = res.review
    keys = {frozenset(p) for p in zip(q["key_a"], q["key_b"], strict=True)}
    # a cannot-link never reaches the review queue: this pair does
    assert frozenset(("cs:partner", "wmerc:nominal")) in keys


def test_a_stranger_with_a_common_name_has_no_corroboration(fitted, base):
    spec = _spec(alias=False, auto="0.65")
    stranger = dict(AWAY, aliases_m=[], surname_m="kowalski", cro_number=None)
    rows = [
        mention("cs:partner", system="cs", kind="person", **{**HOME, "aliases_m": []}),
        mention("pol:x", system="pol", kind="nominal", **stranger),
    ]
    res = _link(fitted, rows, base, spec)
    q = res.review
    row = q[(q["key_a"] == "pol:x") | (q["key_b"] == "pol:x")].iloc[0]
    assert list(row["evidence"]) == []


def test_alias_dob_levels_must_be_dob_levels():
    text = DEFAULT_SPEC_PATH.read_text().replace(
        'alias_dob_levels = ["exact", "swap_dm", "osa<=1"]', 'alias_dob_levels = ["exactly"]'
    )
    with pytest.raises(SpecError, match="exactly"):
        loads_spec(text)


def test_a_surname_the_person_states_elsewhere_is_no_conflict(fitted, base):
    """The history record joins through the record stating the alias, and stays: his
    other records, which never mention the alias, do not split him apart again."""
    home_plain = {**HOME, "aliases_m": [], "pnc_id": None, "pnc_id_valid": None}
    rows = [
        mention("niche:nominal", system="niche", kind="nominal", **HOME),
        mention("cs:partner", system="cs", kind="person", **home_plain),
        mention("edu:contact", system="edu", kind="contact", **{**home_plain, "dob": None}),
        mention("wmerc:nominal", system="wmerc", kind="nominal", **{**AWAY, "aliases_m": []}),
    ]
    res = _link(fitted, rows, base, _spec(auto="0.65"))
    assert len({_pid(res, r["key"]) for r in rows}) == 1
    spec = _spec(auto="0.65")
    eng = LinkageEngine(spec)
    comparer = eng.comparer(pd.DataFrame(rows))
    i, j = np.array([1, 1, 0]), np.array([3, 0, 1])
    # one cluster: "Kowalski" (cs) and "Smith" (wmerc) are both his names
    assert comparer.person_alias_surname(i, j, np.zeros(4, np.int64)).tolist() == [
        True,
        False,  # same recorded surname: nothing to mend
        False,
    ]
    # two clusters: the alias is stated in neither of theirs
    assert comparer.person_alias_surname(i[:1], j[:1], np.array([0, 1, 1, 2])).tolist() == [False]


def _v10(**flags):
    """The default spec with v10's alias rules switched off where a flag says False."""
    text = DEFAULT_SPEC_PATH.read_text()
    off = {
        "alias_home_check": ("alias_home_check = true", "alias_home_check = false"),
        "alias_distinct_surnames_jw": (
            "alias_distinct_surnames_jw = 0.92",
            "alias_distinct_surnames_jw = 0",
        ),
    }
    for key, on in flags.items():
        old, new = off[key]
        assert old in text, key
        if not on:
            text = text.replace(old, new)
    return loads_spec(text)


def _evidence(rows: list, i: np.ndarray, j: np.ndarray, **changes) -> list[bool]:
    """Alias evidence of the pairs ``(i, j)`` of ``rows`` under the v10 spec with ``changes``."""
    eng = LinkageEngine(_v10(**changes))
    comparer = eng.comparer(pd.DataFrame(rows))
    levels = comparer.compare(i, j).levels
    return eng.alias_evidence(comparer, levels, i, j).tolist()


def test_an_alias_that_is_the_right_spelling_is_no_second_name():
    """Spec v10 `alias_distinct_surnames_jw`: "Dani Jons, alias Danielle Jones" and a
    Danielle Jones elsewhere differ by a typo, not by a second surname; the alias is the
    correct spelling and says nothing a namesake could not."""
    jons = dict(AWAY, surname_m="jons", aliases_m=["daniel jones"])
    jones = dict(AWAY, surname_m="jones", aliases_m=[], postcode="B15 2TT")
    rows = [mention("a", **jons), mention("b", **jones), mention("c", **HOME), mention("d", **AWAY)]
    i, j = np.array([0, 2]), np.array([1, 3])
    assert _evidence(rows, i, j, alias_distinct_surnames_jw=True) == [False, True]
    assert _evidence(rows, i, j, alias_distinct_surnames_jw=False) == [True, True]


def test_an_alias_its_holder_is_known_by_at_home_corroborates_nothing():
    """Spec v10 `alias_home_check`: "Keith Harris, alias Keith Atkinson" whose own address
    also holds a Keith Atkinson of that birth date is known there as Atkinson; another
    Keith Atkinson of that birthday at another address is no more than a namesake, and
    the place gate must decide.  A new partner whose alias is not his name at home
    (HOME/AWAY) keeps his corroboration."""
    keith = dict(forename_m="keith", dob="1993-09-03", sex="M")
    rows = [
        mention("x", **keith, surname_m="atkinson", postcode="B42 4JW"),
        mention(
            "holder", **keith, surname_m="harris", aliases_m=["keith atkinson"], postcode="B42 6DP"
        ),
        mention("home", **keith, surname_m="atkinson", middle_m="martin", postcode="B42 6DP"),
        mention("partner", **HOME),
        mention("history", **AWAY),
    ]
    i, j = np.array([0, 3]), np.array([1, 4])
    assert _evidence(rows, i, j, alias_home_check=True) == [False, True]
    assert _evidence(rows, i, j, alias_home_check=False) == [True, True]
    # only someone of the other record's birth date at the holder's address counts
    comparer = LinkageEngine(_v10()).comparer(
        pd.DataFrame([*rows[:2], {**rows[2], "dob": "1960-01-01"}])
    )
    assert comparer.alias_surname(np.array([0]), np.array([1]), home_check=True).tolist() == [True]


def test_an_alias_its_holder_is_known_by_at_home_with_a_slip_corroborates_nothing():
    """Spec v14 `alias_home_check_jw`: "Ann Begum, alias Ann Bull" at B68 6EX, where a
    nominal "Ann Bulll" of her birth date is also recorded, is known there by that name
    (one keystroke off); an "Ann Bull" of that birthday at another address is a namesake
    pair for the place gate, not an alias match.  The new partner (HOME/AWAY) keeps his
    corroboration."""
    ann = dict(forename_m="ann", dob="1997-08-06", sex="F")
    rows = [
        mention("x", **ann, surname_m="bull", postcode="B18 5WQ"),
        mention("holder", **ann, surname_m="begum", aliases_m=["ann bull"], postcode="B68 6EX"),
        mention("home", **ann, surname_m="bulll", postcode="B68 6EX"),
        mention("partner", **HOME),
        mention("history", **AWAY),
    ]
    i, j = np.array([0, 3]), np.array([1, 4])
    on = _v10()
    assert on.alias_home_check_jw == 0.92
    assert _evidence(rows, i, j) == [False, True]
    text = DEFAULT_SPEC_PATH.read_text()
    assert "alias_home_check_jw = 0.92" in text
    off = LinkageEngine(
        loads_spec(text.replace("alias_home_check_jw = 0.92", "alias_home_check_jw = 0"))
    )
    comparer = off.comparer(pd.DataFrame(rows))
    assert off.alias_evidence(comparer, comparer.compare(i, j).levels, i, j).tolist() == [
        True,
        True,
    ]
