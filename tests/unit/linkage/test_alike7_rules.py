"""Look-alike rule of spec 17-alike7 (issue #13), shown failing when turned off.

* `[guards] postcode_other_address`: two records of one full postcode whose recorded
  addresses share no word or number are two households: a possible match
  ("different_addresses"), never merged.
"""

from __future__ import annotations

from cpgraph.linkage import load_spec
from cpgraph.linkage.spec import spec_from_dict
from tests.specs import engine_with, link_with

from .conftest import mention, queued
from .test_engine import pid

# -- a same-name, same-birthday stranger at another house of one postcode ---------------
STRANGER = dict(
    forename_m="michael",
    surname_m="daniels",
    dob="1994-04-23",
    sex="M",
    postcode="B30 2EU",
)


def _strangers(address_b: str = "216 Arnold Close"):
    return (
        mention("bcc:contact:1", system="bcc", kind="contact", address="7 Highfield Gardens",
                **STRANGER),
        mention("uhb:patient:2", system="uhb", kind="patient", address=address_b, **STRANGER),
    )  # fmt: skip


def test_one_postcode_two_wholly_different_addresses_are_kept_apart(indexed_model):
    a, b = _strangers()
    on = engine_with("guards", postcode_other_address=True).explain_pair(a, b, model=indexed_model)
    assert on.cannot_link == "kept apart for review: different_addresses"
    # without the key the name, the birth date and the full postcode link them
    off = engine_with("guards", postcode_other_address=False).explain_pair(
        a, b, model=indexed_model
    )
    assert off.cannot_link is None and off.probability >= 0.95


def test_one_address_spelt_two_ways_is_not_two_addresses(indexed_model):
    eng = engine_with("guards", postcode_other_address=True)
    # the street type abbreviated, a flat number added: one house, the words shared
    for other in ("7 Highfield Gdns", "Flat 2, 7 Highfield Gardens"):
        a, b = _strangers(address_b=other)
        assert eng.explain_pair(a, b, model=indexed_model).cannot_link is None


def test_different_addresses_at_one_postcode_is_a_possible_match(indexed_model, indexed_pop):
    eng = engine_with("guards", postcode_other_address=True)
    res = link_with(eng, indexed_model, indexed_pop, list(_strangers()))
    assert pid(res, "bcc:contact:1") != pid(res, "uhb:patient:2")
    assert queued(res, "bcc:contact:1", "uhb:patient:2")["reason"].tolist() == [
        "different_addresses"
    ]


def test_the_address_guard_is_a_spec_key_off_when_absent():
    raw = load_spec().raw
    gd = {k: v for k, v in raw["guards"].items() if k != "postcode_other_address"}
    assert load_spec().guard_postcode_other_address
    assert not spec_from_dict({**raw, "guards": gd}).guard_postcode_other_address
