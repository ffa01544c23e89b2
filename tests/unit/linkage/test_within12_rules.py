"""Spec 24-within12 (issue #19): a force's second nominal of a man written under another
surname, with his own name as its alias, at his address and undated, is not held apart
by the namesakes-at-home guard (`guards.index_namesakes_alias_jw`)."""

from __future__ import annotations

import pytest

from cpgraph.linkage import LinkageEngine
from tests.specs import engine_with

from .conftest import mention
from .test_engine import link, pid

NOMINAL = dict(system="wmp", kind="nominal")
HOME = dict(postcode="B5 5XR", address="197 Bristol Avenue", sex="M")
ON = dict(index_namesakes_alias_jw=0.85)
OFF = dict(index_namesakes_alias_jw=0.0)


@pytest.fixture(scope="module")
def base(indexed_pop):
    return indexed_pop


@pytest.fixture(scope="module")
def model(spec, base):
    return LinkageEngine(spec).fit(base)


def _linked(keys, model, base, rows):
    eng = engine_with("guards", **keys)
    eng.model = model
    return link(eng, rows, base)


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


def test_a_second_nominal_under_another_surname_with_his_alias_joins_him(model, base):
    rows = _david("snith", "david morrison")
    off = _linked(OFF, model, base, rows)
    assert pid(off, "wmp:nominal:1") != pid(off, "wmp:nominal:2")  # held by the guard
    on = _linked(ON, model, base, rows)
    assert pid(on, "wmp:nominal:1") == pid(on, "wmp:nominal:2")


def test_one_surname_twice_is_still_a_namesake_son(model, base):
    rows = _david("morrison", None)
    on = _linked(ON, model, base, rows)
    assert pid(on, "wmp:nominal:1") != pid(on, "wmp:nominal:2")


def test_a_keying_slip_of_the_surname_is_not_another_surname(model, base):
    rows = _david("morisson", "david morrison")
    on = _linked(ON, model, base, rows)
    assert pid(on, "wmp:nominal:1") != pid(on, "wmp:nominal:2")
