"""Spec 22-within11 (issue #19): a dated record of one master index with no place of its
own, fitting two of the index's persons equally, is taken out as ambiguous
(`clustering.index_ambiguous_placeless`)."""

from __future__ import annotations

import pandas as pd
import pytest

from cpgraph.linkage import LinkageEngine
from cpgraph.linkage.spec import load_spec
from tests.specs import spec_with

from .conftest import mention

NEHA = dict(forename_m="neha", surname_m="patel", dob="2000-03-01", sex="F")
HERS = dict(postcode="B34 8NA", address="200 Willow Place")
OTHER = dict(postcode="B66 4QQ", address="181 Station Lane")
ON = dict(index_ambiguous_placeless=True)
OFF = dict(index_ambiguous_placeless=False)


@pytest.fixture(scope="module")
def base(pop):
    return pop[0]


def _link(fitted, rows, base, keys):
    df = pd.concat([base, pd.DataFrame(rows)], ignore_index=True)
    return LinkageEngine(spec_with("clustering", **keys)).link(df, model=fitted.model)


def _pid(res, key):
    return res.assignments.set_index("key").loc[key, "person_id"]


def _patients(stranger: bool = True):
    """A hospital's patient Neha Patel at her address, its address-less second
    registration of her, and (or not) another patient of her name and birth date at
    another address, whom the place gate keeps apart from her."""
    rows = [
        mention("hl:her", system="hl", kind="patient", **NEHA, **HERS),
        mention("hl:again", system="hl", kind="patient", **NEHA),
    ]
    if stranger:
        rows.append(mention("hl:other", system="hl", kind="patient", **NEHA, **OTHER))
    return rows


def test_an_address_less_registration_fitting_two_patients_is_queued(fitted, base):
    rows = _patients()
    res0 = _link(fitted, rows, base, OFF)
    assert _pid(res0, "hl:her") != _pid(res0, "hl:other")
    # without the key the placeless record sits with one of the two women
    assert _pid(res0, "hl:again") in (_pid(res0, "hl:her"), _pid(res0, "hl:other"))
    res = _link(fitted, rows, base, ON)
    got = {_pid(res, k) for k in ("hl:her", "hl:again", "hl:other")}
    assert len(got) == 3
    q = res.review
    mine = q[(q["key_a"] == "hl:again") | (q["key_b"] == "hl:again")]
    assert set(mine["reason"]) == {"ambiguous_record"} and len(mine) == 2


def test_with_one_patient_of_the_name_the_registration_joins_her(fitted, base):
    res = _link(fitted, _patients(stranger=False), base, ON)
    assert _pid(res, "hl:her") == _pid(res, "hl:again")


def test_across_two_agencies_the_rule_does_not_apply(fitted, base):
    rows = _patients()
    rows[1] = {**rows[1], "key": "ed:again", "system": "ed", "kind": "pupil"}
    res = _link(fitted, rows, base, ON)
    assert _pid(res, "ed:again") in (_pid(res, "hl:her"), _pid(res, "hl:other"))


GUY = dict(forename_m="guy", surname_m="smart", sex="M")
BIRTHDAY = {"name": "index_full_name_birthday", "keys": ["src", "fn_root", "sn", "dob_md"]}


def _blocking(on: bool):
    # without spec 23's own full-name birthday rule for a slipped year (recall11), which
    # pairs this case on its own: the test is of the index rule
    raw = load_spec().raw["blocking"]
    rules = [
        r for r in raw["rules"] if r.get("name") not in (BIRTHDAY["name"], "full_name_birthday")
    ]
    return spec_with("blocking", rules=[*rules, BIRTHDAY] if on else rules)


def test_a_year_keyed_with_a_slip_on_a_placeless_registration_is_compared(fitted, base):
    """The hospital's traced "Guy Smart" 2025-01-12 at his address, and its address-less
    registration of him without an NHS number, the year keyed 2024: no other rule pairs
    them (no date, postcode or birth month shared)."""
    rows = [
        mention(
            "hl:guy",
            system="hl",
            kind="patient",
            dob="2025-01-12",
            postcode="WR6 5PU",
            address="3 Mill Lane",
            nhs_number="6642729811",
            nhs_number_valid=True,
            **GUY,
        ),
        mention("hl:guy2", system="hl", kind="patient", dob="2024-01-12", **GUY),
    ]
    df = pd.concat([base, pd.DataFrame(rows)], ignore_index=True)
    got = {}
    for on in (True, False):
        res = LinkageEngine(_blocking(on)).link(df, model=fitted.model)
        a = res.assignments.set_index("key")["person_id"]
        got[on] = a["hl:guy"] == a["hl:guy2"]
    assert got == {True: True, False: False}
