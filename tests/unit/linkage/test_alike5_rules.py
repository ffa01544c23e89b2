"""Look-alike rules of spec 15-alike5 (issue #13), each shown failing when turned off.

* ``[guards] household_name_order``: two records at one address whose recorded
  surnames agree and whose recorded forenames are unrelated, one forename being the
  other's surname ("Mohamed Mohamed" beside "Omar Mohamed"), are a household's two
  people whatever the forename/surname order swap agrees on: kept apart for review,
  never merged and never out of sight.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cpgraph.linkage import load_spec
from cpgraph.linkage.spec import spec_from_dict
from tests.specs import engine_with, link_with

from .conftest import mention, queued
from .test_engine import pid

NAME_ORDER_ON = dict(household_name_order=True)
NAME_ORDER_OFF = dict(household_name_order=False)

# -- twins of one hospital at one address, one named with the family's surname --------
TWINS = dict(kind="patient", dob="2019-03-14", sex="M", postcode="B11 4RT", address="9 Alum Way")


def _mohamed_twins(second_system: str = "uhb", second_forename: str = "omar"):
    return [
        mention("uhb:patient:1", system="uhb", **TWINS, forename_m="mohamed", surname_m="mohamed"),
        mention(
            f"{second_system}:patient:2",
            system=second_system,
            **TWINS,
            forename_m=second_forename,
            surname_m="mohamed",
        ),
    ]


@pytest.mark.parametrize("second_system", ["uhb", "bcc"])
def test_name_order_twins_at_one_address_are_kept_apart_for_review(indexed_model, second_system):
    # one hospital's two registrations, or the hospital's and the council's records
    a, b = _mohamed_twins(second_system)
    ex = engine_with("guards", **NAME_ORDER_ON).explain_pair(a, b, model=indexed_model)
    assert ex.cannot_link == "kept apart for review: household_name_order"
    # without the key the order swap makes the forenames agree and the pair links
    off = engine_with("guards", **NAME_ORDER_OFF).explain_pair(a, b, model=indexed_model)
    assert off.cannot_link is None and off.probability >= 0.95


def test_name_order_twins_are_a_possible_match_not_a_merge(indexed_model, indexed_pop):
    on = link_with(
        engine_with("guards", **NAME_ORDER_ON), indexed_model, indexed_pop, _mohamed_twins()
    )
    assert pid(on, "uhb:patient:1") != pid(on, "uhb:patient:2")
    row = queued(on, "uhb:patient:1", "uhb:patient:2")
    assert row["reason"].tolist() == ["household_name_order"]
    off = link_with(
        engine_with("guards", **NAME_ORDER_OFF), indexed_model, indexed_pop, _mohamed_twins()
    )
    assert pid(off, "uhb:patient:1") == pid(off, "uhb:patient:2")


def test_name_order_guard_spares_other_addresses_and_one_childs_spellings(indexed_model):
    eng = engine_with("guards", **NAME_ORDER_ON)
    # at two addresses it is no household's pair (the place gate's question)
    a, b = _mohamed_twins()
    b.update(postcode="B12 9QQ", address="40 Stratford Road")
    assert eng.explain_pair(a, b, model=indexed_model).cannot_link is None
    # a forename recorded as a nickname or a misspelling is one child, not a twin
    for forename in ("mohammed", "mohamd"):
        a, b = _mohamed_twins(second_forename=forename)
        assert eng.explain_pair(a, b, model=indexed_model).cannot_link is None, forename


def test_name_order_guard_spares_one_person_recorded_in_either_order(indexed_model):
    """One person recorded as "Omar Mohamed" and "Mohamed Omar": the surnames differ."""
    a, b = _mohamed_twins()
    a.update(forename_m="omar", surname_m="mohamed")
    b.update(forename_m="mohamed", surname_m="omar")
    ex = engine_with("guards", **NAME_ORDER_ON).explain_pair(a, b, model=indexed_model)
    assert ex.cannot_link is None


def test_name_order_guard_spares_a_short_form_no_list_knows(indexed_model):
    """One man recorded as "Abdi Abdi" and "Abdurahman Abdi": Abdi is his short form."""
    a, b = _mohamed_twins()
    a.update(forename_m="abdi", surname_m="abdi")
    b.update(forename_m="abdurahman", surname_m="abdi")
    stem = engine_with("guards", **NAME_ORDER_ON, household_name_order_stem=3)
    assert stem.explain_pair(a, b, model=indexed_model).cannot_link is None
    bare = engine_with("guards", **NAME_ORDER_ON, household_name_order_stem=0)
    assert bare.explain_pair(a, b, model=indexed_model).cannot_link == (
        "kept apart for review: household_name_order"
    )


def test_a_spec_without_the_keys_has_the_rules_off():
    raw = load_spec().raw
    guards = {k: v for k, v in raw["guards"].items() if not k.startswith("household_name")}
    spec = spec_from_dict({**raw, "guards": guards})
    assert not spec.guard_household_name_order and spec.guard_name_order_stem == 0


# -- a father's undated "Sr" record beside a baby namesake ------------------------------
SENIOR_ON = dict(senior_generation=True)
SENIOR_OFF = dict(senior_generation=False)
AHMED = dict(forename_m="mohammed", surname_m="ahmed", sex="M", postcode="B64 5UY")


def _senior_and_baby():
    return [
        mention(
            "wmp:nominal:1", system="wmp", kind="nominal", **{**AHMED, "surname_m": "ahmed sr"}
        ),
        mention("uhb:patient:2", system="uhb", kind="patient", **AHMED, dob="2023-02-10"),
    ]


def test_an_undated_senior_is_no_baby(indexed_model):
    sr, baby = _senior_and_baby()
    on = engine_with("relationship", **SENIOR_ON).explain_pair(sr, baby, model=indexed_model)
    assert on.cannot_link is not None
    off = engine_with("relationship", **SENIOR_OFF).explain_pair(sr, baby, model=indexed_model)
    assert off.cannot_link is None


def test_an_undated_senior_may_be_a_grown_man(indexed_model):
    sr, man = _senior_and_baby()
    man["dob"] = "1982-04-02"
    on = engine_with("relationship", **SENIOR_ON).explain_pair(sr, man, model=indexed_model)
    assert on.cannot_link is None


# -- 16-visible6: a pair the name-order guard parts in the relationship rounds ----------
REVIEW_GUARDED_ON = dict(review_guarded=True)
REVIEW_GUARDED_OFF = dict(review_guarded=False)
ABDI = dict(surname_m="abdi", postcode="B31 9WD", address="4 Shenley Lane")


def _abdi_fathers():
    """The school's contact "Cabdullahi Abdi" and the hospital's undated related person
    "Abdi Abdi" at the family's address, each stated as father of the girl Hodan Abdi
    whom both agencies record: one man (Abdi is his short form, the Somali "C" hiding the
    shared stem), whom only the relationship rounds put side by side."""
    kid = dict(forename_m="hodan", dob="2015-04-04", sex="F", **ABDI)
    rows = [
        mention("ed:kid", system="ed", kind="pupil", **kid),
        mention("uhb:kid", system="uhb", kind="patient", **kid),
        mention("ed:dad", system="ed", kind="contact", forename_m="cabdullahi", sex="M", **ABDI),
        mention("uhb:dad", system="uhb", kind="related_person", forename_m="abdi", sex="M", **ABDI),
    ]
    rels = pd.DataFrame(
        [("ed:kid", "ed:dad", "father"), ("uhb:kid", "uhb:dad", "father")],
        columns=["from_key", "to_key", "relationship"],
    )
    return rows, rels


def _link_abdi(indexed_model, indexed_pop, **keys):
    rows, rels = _abdi_fathers()
    eng = engine_with("relationship", **keys)
    assert eng.spec.guard_household_name_order and "household_name_order" in (
        eng.spec.guard_reviewable
    )
    return link_with(eng, indexed_model, indexed_pop, rows, rels)


def test_a_pair_the_guard_parts_in_the_rounds_stays_in_the_queue(indexed_model, indexed_pop):
    """Nothing undecided is invisible: the rounds would link the two fathers (same anchor,
    the name order swap makes the forenames agree); the name-order guard parts them, and
    the pair waits for a steward with the guard as its reason."""
    on = _link_abdi(indexed_model, indexed_pop, **REVIEW_GUARDED_ON)
    assert pid(on, "ed:kid") == pid(on, "uhb:kid")
    assert pid(on, "ed:dad") != pid(on, "uhb:dad")
    assert queued(on, "ed:dad", "uhb:dad")["reason"].tolist() == ["household_name_order"]
    # without the key the round drops the pair like a cannot-linked one: out of sight
    off = _link_abdi(indexed_model, indexed_pop, **REVIEW_GUARDED_OFF)
    assert pid(off, "ed:dad") != pid(off, "uhb:dad")
    assert queued(off, "ed:dad", "uhb:dad").empty


def test_a_birth_date_or_sex_that_disagrees_answers_the_guards_question(indexed_model, indexed_pop):
    """ "Abdi Abdi" recorded as a woman is the girl's mother's namesake, not her father:
    the rounds' bonus alone made the pair a match, and it is not put to a steward."""
    rows, rels = _abdi_fathers()
    rows[3]["sex"] = "F"
    eng = engine_with("relationship", **REVIEW_GUARDED_ON)
    res = link_with(eng, indexed_model, indexed_pop, rows, rels)
    assert pid(res, "ed:dad") != pid(res, "uhb:dad")
    assert queued(res, "ed:dad", "uhb:dad").empty


def test_the_review_guarded_key_is_off_when_absent():
    raw = load_spec().raw
    rel = {k: v for k, v in raw["relationship"].items() if k != "review_guarded"}
    assert load_spec().rel_review_guarded
    assert not spec_from_dict({**raw, "relationship": rel}).rel_review_guarded
