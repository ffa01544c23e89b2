"""Look-alike rule of spec 25 (issue #13), shown failing when turned off.

* ``[guards] index_namesakes_slip_generation``: a force's undated nominal and its dated
  one at one address, the names a keying slip apart ("ANDREW HIGGINS", no birth date,
  beside "ANDREW Higginns" 2003), while the place holds a dated record of the undated
  one's name born a generation from the dated nominal (the hospital's "Andrew Higgins"
  1975, the father): the undated nominal may be the father's, so the pair is kept apart
  for a steward (reason ``index_namesakes_at_home``), never merged.
"""

from __future__ import annotations

from tests.specs import engine_with, link_with

from .conftest import mention, queued
from .test_engine import pid

HOME = dict(sex="M", forename_m="andrew", postcode="B65 6EZ", address="238 School Way")


def _higgins(father_dob: str | None = "1975-02-01", father_name: str = "higgins"):
    rows = [
        mention("wmp:nominal:1", system="wmp", kind="nominal", surname_m="higgins", **HOME),
        mention(
            "wmp:nominal:2", system="wmp", kind="nominal", surname_m="higginns",
            dob="2003-08-19", **HOME,
        ),
    ]  # fmt: skip
    if father_dob is not None:
        rows.append(
            mention(
                "uhb:patient:3", system="uhb", kind="patient", surname_m=father_name,
                dob=father_dob, **HOME,
            )
        )  # fmt: skip
    return rows


def test_an_undated_nominal_beside_a_slip_and_a_father_on_file_is_kept_apart(
    indexed_model, indexed_pop
):
    on = engine_with("guards", index_namesakes_slip_generation=True)
    res = link_with(on, indexed_model, indexed_pop, _higgins())
    assert pid(res, "wmp:nominal:1") != pid(res, "wmp:nominal:2")
    assert (
        "index_namesakes_at_home"
        in queued(res, "wmp:nominal:1", "wmp:nominal:2")["reason"].tolist()
    )
    # without the key the slip pair is one man: the name, the force and the address
    off = engine_with("guards", index_namesakes_slip_generation=False)
    res = link_with(off, indexed_model, indexed_pop, _higgins())
    assert pid(res, "wmp:nominal:1") == pid(res, "wmp:nominal:2")


def test_the_slip_namesakes_guard_needs_another_generation_of_the_name(indexed_model, indexed_pop):
    on = engine_with("guards", index_namesakes_slip_generation=True)
    # no other dated record of the name at the place: a nominal keyed twice, one man
    res = link_with(on, indexed_model, indexed_pop, _higgins(father_dob=None))
    assert pid(res, "wmp:nominal:1") == pid(res, "wmp:nominal:2")
    # a record of the name born in the dated nominal's generation is no father
    res = link_with(on, indexed_model, indexed_pop, _higgins(father_dob="2001-01-01"))
    assert pid(res, "wmp:nominal:1") == pid(res, "wmp:nominal:2")
