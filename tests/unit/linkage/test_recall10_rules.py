"""Spec 21-recall10 (issue #13): a link of one full name and birth date at two places
passes the place gate when a relative of one record's own surname is known by her full
name at the other record's place (`gate_kin_own_surname_full_match`)."""

from __future__ import annotations

import pandas as pd

from cpgraph.linkage import LinkageEngine
from cpgraph.linkage.spec import DEFAULT_SPEC_PATH, loads_spec

from .conftest import mention

KEY = "gate_kin_own_surname_full_match = true"


def _spec(on: bool | None):
    """The shipped spec with the key set (None: removed).  (The small test model weighs a
    postcode change heavily; a lower `auto` makes the pair a link on evidence, so that
    only the gate can keep it apart.)"""
    text = DEFAULT_SPEC_PATH.read_text().replace("auto = 0.95", "auto = 0.65")
    assert KEY in text
    new = "" if on is None else f"gate_kin_own_surname_full_match = {str(on).lower()}"
    return loads_spec(text.replace(KEY, new))


def test_the_shipped_spec_holds_the_rule(spec):
    assert spec.gate_kin_own_surname_full_match
    assert not _spec(None).gate_kin_own_surname_full_match
    assert not _spec(False).gate_kin_own_surname_full_match


KID = dict(forename_m="leo", surname_m="little", dob="2016-04-09", sex="M")
MUM = dict(forename_m="christine", surname_m="little")
NEW, OLD = dict(postcode="B12 3AB"), dict(postcode="DY4 4QQ")
RELS = pd.DataFrame(
    [("ed:kid", "ed:mum", "mother")], columns=["from_key", "to_key", "relationship"]
)


def _rows(kid_old: dict | None = None, mum_old: bool = True) -> list[dict]:
    """The school's Leo Little and his mother's contact (undated) at the new address; the
    hospital's Leo (``kid_old`` overrides his fields) and, with ``mum_old``, a patient
    "Christine Little" at the old one."""
    rows = [
        mention("ed:kid", system="ed", kind="pupil", **NEW, **KID),
        mention("ed:mum", system="ed", kind="contact", **NEW, **MUM),
        mention("hl:kid", system="hl", kind="patient", **OLD, **{**KID, **(kid_old or {})}),
    ]
    if mum_old:
        rows.append(
            mention("hl:mum", system="hl", kind="patient", dob="1985-03-04", sex="F", **OLD, **MUM)
        )
    return rows


def _one(sp, rows, fitted, pop) -> bool:
    df = pd.concat([pop[0], pd.DataFrame(rows)], ignore_index=True)
    res = LinkageEngine(sp).link(df, relationships=RELS, model=fitted.model)
    pid = res.assignments.set_index("key")["person_id"]
    return bool(pid["ed:kid"] == pid["hl:kid"])


def test_a_boy_whose_mother_is_known_at_the_old_address_is_one_boy(fitted, pop):
    """Leo's mother (his own surname) is known by her full name where the hospital has
    Leo: with the key one boy; without it (spec 21: a relative of the record's own
    surname counts for nothing) the gate keeps the two apart."""
    assert _one(_spec(True), _rows(), fitted, pop)
    assert not _one(_spec(None), _rows(), fitted, pop)
    assert not _one(_spec(False), _rows(), fitted, pop)


def test_the_gate_holds_without_the_mother_or_without_the_full_match(fitted, pop):
    """No "Christine Little" at the old address: two boys.  A hospital "Leo Little" of
    another birth date (a year's slip, which the link may still carry) is no full match:
    the mother's name alone does not open the gate for him."""
    assert not _one(_spec(True), _rows(mum_old=False), fitted, pop)
    assert not _one(_spec(True), _rows(kid_old=dict(dob="2016-04-19")), fitted, pop)
