"""`clustering.gate_yields_within_index = false` (issue #13; measured, not on by default):
the place gate yields to a full-name and birth-date match across agencies, not inside one
index: there a second record of the same full name at another address is one the index's
own search found (and judged someone else) or one nobody searched for, and the address
decides as for any move.  Off by default: on held-out data it cost a migrated council's
legacy copies (bench/RESULTS.md, "Spec v11")."""

from __future__ import annotations

import pytest

from tests.specs import spec_with

from .conftest import mention
from .test_place_gate import link, pid


@pytest.fixture(scope="module")
def base(pop):
    return pop[0]


V12 = dict(gate_yields_within_index=False)  # the rule on
SARAH = dict(forename_m="sarah", middle_m="karen", surname_m="riley", dob="1992-12-12", sex="F")


def _sarahs(kind_b: str, system_b: str) -> list[dict]:
    return [
        mention("uhb:patient:1", system="uhb", kind="patient", postcode="B66 7BU", **SARAH),
        mention(
            f"{system_b}:{kind_b}:2", system=system_b, kind=kind_b, postcode="B70 1GU", **SARAH
        ),
    ]


def test_inside_one_index_a_full_name_match_elsewhere_waits_for_a_steward(fitted, base):
    rows = _sarahs("patient", "uhb")
    res = link(fitted, rows, base, spec_with("clustering", **V12))
    assert pid(res, "uhb:patient:1") != pid(res, "uhb:patient:2")
    q = res.review
    row = q[
        (q["key_a"].isin(["uhb:patient:1", "uhb:patient:2"]))
        & (q["key_b"].isin(["uhb:patient:1", "uhb:patient:2"]))
    ]
    assert len(row) == 1 and row["reason"].iloc[0] == "different_addresses"
    # the rule is what keeps them apart: as shipped the gate yields to the full name
    before = link(
        fitted, rows, base, spec_with("clustering", **{**V12, "gate_yields_within_index": True})
    )
    assert pid(before, "uhb:patient:1") == pid(before, "uhb:patient:2")


def test_across_agencies_the_gate_still_yields_to_a_full_name_match(fitted, base):
    rows = _sarahs("nominal", "wmp")
    res = link(fitted, rows, base, spec_with("clustering", **V12))
    assert pid(res, "uhb:patient:1") == pid(res, "wmp:nominal:2")
