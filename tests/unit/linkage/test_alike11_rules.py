"""Look-alike rule of spec 22-alike11 (issue #13), shown failing when turned off.

* ``[relationship] pnc_issue_year``: a record without a birth date that carries a valid
  PNC ID was born no later than the ID's year of issue (the Police National Computer
  creates a person's record when the police first deal with them): a father's undated
  nominal is no baby namesake born after it.
"""

from __future__ import annotations

from cpgraph.linkage import load_spec
from cpgraph.linkage.spec import spec_from_dict
from tests.specs import engine_with

from .conftest import mention

ON = dict(pnc_issue_year=True)
OFF = dict(pnc_issue_year=False)
HOME = dict(surname_m="mahmood", sex="M", postcode="WR14 1ZZ", address="flat 29 22 young gardens")


def _father_and_baby(pnc: str = "2018/3353032Y", valid: bool = True):
    """The force's undated nominal "Mo Mahmood, alias Muhammad Mahmood" (the father) and
    the hospital's baby "Mohammed Mahmood" born 2024 at the same address."""
    return [
        mention(
            "wmerc:nominal:1",
            system="wmerc",
            kind="nominal",
            forename_m="mo",
            aliases_m=["muhammad mahmood"],
            pnc_id=pnc,
            pnc_id_valid=valid,
            **HOME,
        ),
        mention(
            "uhb:patient:2",
            system="uhb",
            kind="patient",
            forename_m="mohammed",
            dob="2024-04-27",
            **HOME,
        ),
    ]


def test_an_undated_nominal_with_a_pnc_id_is_no_baby_born_after_it(indexed_model):
    dad, baby = _father_and_baby()
    on = engine_with("relationship", **ON).explain_pair(dad, baby, model=indexed_model)
    assert on.cannot_link is not None
    off = engine_with("relationship", **OFF).explain_pair(dad, baby, model=indexed_model)
    assert off.cannot_link is None


def test_a_pnc_id_issued_after_the_birth_says_nothing(indexed_model):
    dad, baby = _father_and_baby(pnc="2025/3353032Y")
    on = engine_with("relationship", **ON).explain_pair(dad, baby, model=indexed_model)
    assert on.cannot_link is None


def test_an_invalid_pnc_id_says_nothing(indexed_model):
    dad, baby = _father_and_baby(valid=False)
    on = engine_with("relationship", **ON).explain_pair(dad, baby, model=indexed_model)
    assert on.cannot_link is None


def test_a_dated_record_goes_by_its_own_date(indexed_model):
    """A nominal with a birth date is judged by the date (the dob comparison decides)."""
    dad, baby = _father_and_baby()
    dad["dob"] = "2024-04-27"
    on = engine_with("relationship", **ON).explain_pair(dad, baby, model=indexed_model)
    assert on.cannot_link is None


def test_the_key_is_on_in_the_shipped_spec_and_off_when_absent():
    raw = load_spec().raw
    assert load_spec().rel_pnc_issue_year
    rel = {k: v for k, v in raw["relationship"].items() if k != "pnc_issue_year"}
    assert not spec_from_dict({**raw, "relationship": rel}).rel_pnc_issue_year
