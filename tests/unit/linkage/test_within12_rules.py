"""Spec 24-within12 (issue #19): a force's second nominal of a man written under another
surname, with his own name as its alias, at his address and undated, is not held apart
by the namesakes-at-home guard (`guards.index_namesakes_alias_jw`)."""

from __future__ import annotations

from tests.specs import engine_with, link_with

from .conftest import mention
from .test_engine import pid

NOMINAL = dict(system="wmp", kind="nominal")
HOME = dict(postcode="B5 5XR", address="197 Bristol Avenue", sex="M")
ON = dict(index_namesakes_alias_jw=0.85)
OFF = dict(index_namesakes_alias_jw=0.0)


def _linked(keys, model, base, rows):
    return link_with(engine_with("guards", **keys), model, base, rows)


def _david(second_surname: str, alias: str | None):
    """David Morrison's dated nominal, and a second, undated nominal at his address."""
    return [
        mention(
            "wmp:nominal:1", **NOMINAL, **HOME, forename_m="david", surname_m="morrison",
            dob="1989-06-13",
        ),
        mention(
            "wmp:nominal:2", **NOMINAL, **HOME, forename_m="david", surname_m=second_surname,
            dob=None, aliases_m=[alias] if alias else [],
        ),
    ]  # fmt: skip


def test_a_second_nominal_under_another_surname_with_his_alias_joins_him(
    indexed_model, indexed_pop
):
    rows = _david("snith", "david morrison")
    off = _linked(OFF, indexed_model, indexed_pop, rows)
    assert pid(off, "wmp:nominal:1") != pid(off, "wmp:nominal:2")  # held by the guard
    on = _linked(ON, indexed_model, indexed_pop, rows)
    assert pid(on, "wmp:nominal:1") == pid(on, "wmp:nominal:2")


def test_one_surname_twice_is_still_a_namesake_son(indexed_model, indexed_pop):
    rows = _david("morrison", None)
    on = _linked(ON, indexed_model, indexed_pop, rows)
    assert pid(on, "wmp:nominal:1") != pid(on, "wmp:nominal:2")


def test_a_keying_slip_of_the_surname_is_not_another_surname(indexed_model, indexed_pop):
    rows = _david("morisson", "david morrison")
    on = _linked(ON, indexed_model, indexed_pop, rows)
    assert pid(on, "wmp:nominal:1") != pid(on, "wmp:nominal:2")
