"""Spec 20-recall9 (issue #13): a slip of the year's tens digit is no alias evidence
(`alias_dob_no_decade_slip`, kept in spec 21); measured and shipped off: a mistyped year
is compared (`full_name_birthday`), and two of a family's own-surname names at the other
place evidence a move (`gate_kin_namesake_own_surname`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from cpgraph.linkage import LinkageEngine
from cpgraph.linkage.blocking import candidate_pairs, variant_block_table
from cpgraph.linkage.comparisons import decade_slip
from cpgraph.linkage.relationships import kin_namesake_places, kin_table
from cpgraph.linkage.spec import DEFAULT_SPEC_PATH, loads_spec
from cpgraph.linkage.standardise import name_variants, standardise

from .conftest import mention


def _spec(*, decade: bool | None):
    """The shipped spec with `alias_dob_no_decade_slip` set (None: the key removed)."""
    text = DEFAULT_SPEC_PATH.read_text()
    old = "alias_dob_no_decade_slip = true"
    assert old in text
    new = "" if decade is None else f"alias_dob_no_decade_slip = {str(decade).lower()}"
    return loads_spec(text.replace(old, new))


BIRTHDAY_RULE = '{ name = "full_name_birthday", keys = ["fn", "sn", "dob_md"] },\n'


def _with_birthday_rule():
    """The shipped spec with 20-recall9's `full_name_birthday` block (not shipped)."""
    text = DEFAULT_SPEC_PATH.read_text()
    anchor = '  { name = "nhs_number"'
    assert text.count(anchor) == 1
    return loads_spec(text.replace(anchor, "  " + BIRTHDAY_RULE + anchor))


def test_the_shipped_spec_holds_the_decade_rule_only(spec):
    assert spec.alias_dob_no_decade_slip
    names = {r.name for r in spec.blocking}
    assert "name_sound_birthday" not in names
    # 22-recall11's form (a slipped year only, `year_slip`) is shipped off too (spec 23)
    assert all(r.year_slip for r in spec.blocking if r.name == "full_name_birthday")
    assert spec.gate_kin_namesake_own_surname == 0
    assert not _spec(decade=None).alias_dob_no_decade_slip
    assert any(
        r.name == "full_name_birthday" and not r.year_slip for r in _with_birthday_rule().blocking
    )


def test_a_decade_slip_is_the_tens_digit_of_the_year_only(spec):
    dates = [
        ("1995-10-10", "1985-10-10", True),  # the tens digit: ten years
        ("2021-05-03", "2001-05-03", True),
        ("1995-10-10", "1959-10-10", False),  # the year's digits swapped
        ("1995-10-10", "1996-10-10", False),  # the last digit
        ("1995-10-10", "1885-10-10", False),  # two digits
        ("1995-10-10", "1985-10-11", False),  # another day too
        ("1995-10-10", None, False),
    ]
    rows = []
    for a, b, _ in dates:
        rows += [mention(f"a{len(rows)}", dob=a), mention(f"b{len(rows)}", dob=b)]
    s = standardise(pd.DataFrame(rows), spec)
    i = np.arange(0, len(rows), 2)
    assert decade_slip(s, i, i + 1).tolist() == [x for *_, x in dates]


SIOBHAN = dict(forename_m="siobhan", sex="F")


def _alias_rows(other_dob: str) -> list[dict]:
    """ "Siobhan O'Brien" at one address; a police nominal "Siobhan O'Sullivan, alias
    O'Brien" at another, born on ``other_dob``."""
    return [
        mention("hl:a", **SIOBHAN, surname_m="obrien", dob="1995-10-10", postcode="B12 3AB"),
        mention(
            "pol:b",
            system="pol",
            kind="nominal",
            **SIOBHAN,
            surname_m="osullivan",
            aliases_m=["siobhan obrien"],
            dob=other_dob,
            postcode="DY4 4QQ",
        ),
    ]


def _evidence(spec, rows) -> list[bool]:
    eng = LinkageEngine(spec)
    comparer = eng.comparer(pd.DataFrame(rows))
    i, j = np.array([0]), np.array([1])
    return eng.alias_evidence(comparer, comparer.compare(i, j).levels, i, j).tolist()


def test_a_decade_slip_is_no_alias_evidence():
    """1995-10-10 / 1985-10-10 is one keyed digit (`osa<=1`, which `alias_dob_levels`
    accepts) but ten years: with the key, the alias does not open the place gate; a
    day's slip still does, and without the key (spec 20) the decade did too."""
    on, off = _spec(decade=True), _spec(decade=None)
    assert _evidence(on, _alias_rows("1985-10-10")) == [False]
    assert _evidence(off, _alias_rows("1985-10-10")) == [True]
    assert _evidence(on, _alias_rows("1995-10-11")) == [True]
    assert _evidence(on, _alias_rows("1995-10-10")) == [True]


def _pairs(spec, rows, *, rule: bool):
    s = standardise(pd.DataFrame(rows), spec)
    vt = variant_block_table(s, name_variants(s), spec)
    rules = tuple(r for r in spec.blocking if rule or r.name != "full_name_birthday")
    a, b = candidate_pairs(s, vt, dataclasses.replace(spec, blocking=rules))
    return set(zip(a.tolist(), b.tolist(), strict=True))


def test_a_mistyped_year_at_two_addresses_is_compared():
    """ "Liz Brown" 1989-07-15 and 1998-07-15 at two addresses (the year's digits
    swapped): no other rule pairs them (another year, another postcode).  The rule adds
    no pair with "Kate Brown" of that birthday, with "Liz Brown" of another day, nor with
    "Liz Browne" of another year (two slips: 19-recall8's `name_sound_birthday` paired
    those, and a stranger's record matches them as well)."""
    rows = [
        mention("a", forename_m="liz", surname_m="brown", dob="1989-07-15", postcode="B23 5WW"),
        mention("b", forename_m="liz", surname_m="brown", dob="1998-07-15", postcode="B4 7AX"),
        mention("c", forename_m="kate", surname_m="brown", dob="1978-07-15", postcode="B1 1AA"),
        mention("d", forename_m="liz", surname_m="brown", dob="1998-07-16", postcode="B9 9ZZ"),
        mention("e", forename_m="liz", surname_m="browne", dob="1979-07-15", postcode="B8 8ZZ"),
    ]
    spec = _with_birthday_rule()
    without = _pairs(spec, rows, rule=False)
    assert (0, 1) not in without
    assert _pairs(spec, rows, rule=True) - without == {(0, 1)}


def _kin_places(names, places, rels, own_surname):
    s = pd.DataFrame(names, columns=["fn", "sn"])
    r = pd.DataFrame(rels, columns=["from_pos", "to_pos"])
    return kin_namesake_places(
        kin_table(s, r), s, np.asarray(places, np.int64), 3, own_surname=own_surname
    )


def _at(ptr, val, r):
    return [] if ptr is None else sorted(val[ptr[r] : ptr[r + 1]].tolist())


def test_two_of_the_familys_own_names_at_the_other_place_count():
    """Leo Lukasik (place 0) states his mother Zofia and his father Marek Lukasik; both
    names are recorded at place 1 (the old address).  One relative of his own surname
    there counts for nothing (spec 20: any Leo Lukasik's mother may be a Zofia
    Lukasik); two do with `gate_kin_namesake_own_surname = 2`; a relative of his own full
    name (his father and namesake) never counts."""
    names = [
        ("leo", "lukasik"),  # 0: the school's boy, place 0
        ("zofia", "lukasik"),  # 1: his mother's contact, place 0
        ("marek", "lukasik"),  # 2: his father's contact, place 0
        ("zofia", "lukasik"),  # 3: the hospital's mother, place 1
        ("marek", "lukasik"),  # 4: the hospital's father, place 1
    ]
    places = [0, 0, 0, 1, 1]
    both = [(0, 1), (0, 2)]
    assert 1 in _at(*_kin_places(names, places, both, 2), 0)
    assert 1 not in _at(*_kin_places(names, places, both, 0), 0)
    # the mother alone at place 1
    assert 1 not in _at(*_kin_places(names, [0, 0, 0, 1, 2], both, 2), 0)
    # the father is "Leo Lukasik" too: his name is the boy's own, no evidence
    namesake = [*names[:2], ("leo", "lukasik"), names[3], ("leo", "lukasik")]
    assert 1 not in _at(*_kin_places(namesake, places, both, 2), 0)


def test_a_boy_whose_mother_and_father_are_known_at_the_old_address_is_one_boy(fitted, pop):
    """The school has Leo Lukasik with his mother and father (contacts, undated) at the
    new address; the hospital has Leo, and both parents as its own patients, at the old
    one.  With `gate_kin_namesake_own_surname = 2` one boy; without it (spec 20) the
    gate keeps the two apart, and with the mother alone it still does."""
    kid = dict(forename_m="leo", surname_m="lukasik", dob="2016-04-09", sex="M")
    mum = dict(forename_m="zofia", surname_m="lukasik")
    dad = dict(forename_m="marek", surname_m="lukasik")
    new, old = dict(postcode="B12 3AB"), dict(postcode="DY4 4QQ")
    rows = [
        mention("ed:kid", system="ed", kind="pupil", **new, **kid),
        mention("ed:mum", system="ed", kind="contact", **new, **mum),
        mention("ed:dad", system="ed", kind="contact", **new, **dad),
        mention("hl:kid", system="hl", kind="patient", **old, **kid),
        mention("hl:mum", system="hl", kind="patient", dob="1985-03-04", sex="F", **old, **mum),
        mention("hl:dad", system="hl", kind="patient", dob="1983-11-21", sex="M", **old, **dad),
    ]
    rels = pd.DataFrame(
        [("ed:kid", "ed:mum", "mother"), ("ed:kid", "ed:dad", "father")],
        columns=["from_key", "to_key", "relationship"],
    )

    def spec(own: int | None):
        # (the small test model weighs a postcode change heavily; a lower `auto` makes
        # the pair a link on evidence, so that only the gate can keep it apart)
        text = DEFAULT_SPEC_PATH.read_text().replace("auto = 0.95", "auto = 0.65")
        # (21-recall10's `gate_kin_own_surname_full_match` off: these are the rules of
        # this spec alone; test_recall10_rules.py has the boy with his mother's name)
        text = text.replace("gate_kin_own_surname_full_match = true", "")
        old_line = "gate_kin_namesake_own_surname = 0"
        assert old_line in text
        new_line = "" if own is None else f"gate_kin_namesake_own_surname = {own}"
        return loads_spec(text.replace(old_line, new_line))

    def pid(res, key):
        return res.assignments.set_index("key").loc[key, "person_id"]

    def link(sp, rs, rl):
        df = pd.concat([pop[0], pd.DataFrame(rs)], ignore_index=True)
        return LinkageEngine(sp).link(df, relationships=rl, model=fitted.model)

    on = spec(2)
    assert on.gate_kin_namesake_own_surname == 2
    res = link(on, rows, rels)
    assert pid(res, "ed:kid") == pid(res, "hl:kid")
    res0 = link(spec(None), rows, rels)
    assert pid(res0, "ed:kid") != pid(res0, "hl:kid")
    res1 = link(on, rows[:5], rels)  # no Marek Lukasik at the old address
    assert pid(res1, "ed:kid") != pid(res1, "hl:kid")
