"""The place gate yields to the full name with a birth date one keying slip off (spec
v14, ``[clustering] gate_yields_dob_levels``, issue #13)."""

from __future__ import annotations

import pytest

from cpgraph.linkage.spec import DEFAULT_SPEC_PATH, SpecError, loads_spec

from .conftest import mention
from .test_place_gate import KID, link, pid


def _spec(levels: str | None):
    # (the small test model weighs a one-digit slip in the date lightly: a low `auto`
    # makes the pair a link on evidence, so that only the gate can keep it apart)
    text = (
        DEFAULT_SPEC_PATH.read_text()
        .replace("auto = 0.95", "auto = 0.01")
        .replace("review = 0.60", "review = 0.005")
    )
    key = 'gate_yields_dob_levels = ["exact", "swap_dm", "osa<=1"]\n'
    assert key in text
    text = text.replace(key, f"gate_yields_dob_levels = {levels or '["exact"]'}\n")
    return loads_spec(text)


def test_full_name_with_a_slipped_birth_date_passes_the_gate(fitted, pop):
    """A pupil and a patient record with his full name, middle name included, at two
    addresses, a digit of the day mistyped on one: one boy, not a namesake."""
    dob = "2016-04-08"  # (a day/month swap is not blocked: only the date rules find it)
    named = dict(KID, middle_m="tadeusz")
    rows = [
        mention("ed:kid", system="ed", kind="pupil", postcode="B12 3AB", **named),
        mention("hl:kid", system="hl", kind="patient", postcode="DY4 4QQ", **{**named, "dob": dob}),
    ]
    on = _spec('["exact", "swap_dm", "osa<=1"]')
    res = link(fitted, rows, pop[0], on)
    assert pid(res, "ed:kid") == pid(res, "hl:kid")
    res = link(fitted, rows, pop[0], _spec(None))
    assert pid(res, "ed:kid") != pid(res, "hl:kid")
    # without the middle names on both, the gate holds whatever the date
    bare = [dict(r, middle_m=None) for r in rows]
    res = link(fitted, bare, pop[0], on)
    assert pid(res, "ed:kid") != pid(res, "hl:kid")


def test_levels_must_be_dob_levels():
    with pytest.raises(SpecError, match="gate_yields_dob_levels"):
        _spec('["exact", "jw>=0.9"]')
