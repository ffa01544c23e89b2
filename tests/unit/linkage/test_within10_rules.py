"""Spec 21-within10 (issue #19): two records of one master index at two places, scored
below `auto` only for the two postcodes, linked when the person's household is known at
the other place (`clustering.index_move_kin_ignores`)."""

from __future__ import annotations

import pandas as pd
import pytest

from cpgraph.linkage import LinkageEngine
from tests.specs import spec_with

from .conftest import mention

KID = dict(forename_m="leo", middle_m="adam", surname_m="lukasik", dob="2016-04-09", sex="M")
NEW = dict(postcode="B12 3AB", address="4 Elm Road")
OLD = dict(postcode="DY4 4QQ", address="17 Tipton Street")
ON = dict(index_move_kin_ignores=["postcode", "address"])
OFF = dict(index_move_kin_ignores=[])


@pytest.fixture(scope="module")
def base(pop):
    return pop[0]


def _link(fitted, rows, base, keys, rels=None):
    df = pd.concat([base, pd.DataFrame(rows)], ignore_index=True)
    return LinkageEngine(spec_with("clustering", **keys)).link(
        df, relationships=rels, model=fitted.model
    )


def _pid(res, key):
    return res.assignments.set_index("key").loc[key, "person_id"]


def _registrations(mum_at_new: bool = True):
    """A hospital registered Leo twice: at the family's old address, stating his mother
    Zofia Nowak, and again at the new one; Zofia is the hospital's own patient at the new
    address (or, for a stranger's shape, at neither)."""
    rows = [
        mention("hl:kid1", system="hl", kind="patient", **OLD, **KID),
        mention("hl:kid2", system="hl", kind="patient", **NEW, **KID),
        mention("hl:mumc", system="hl", kind="contact", forename_m="zofia", surname_m="nowak"),
    ]
    if mum_at_new:
        rows.append(
            mention(
                "hl:mum",
                system="hl",
                kind="patient",
                forename_m="zofia",
                surname_m="nowak",
                dob="1985-03-04",
                sex="F",
                **NEW,
            )
        )
    rels = pd.DataFrame(
        [("hl:kid1", "hl:mumc", "mother")], columns=["from_key", "to_key", "relationship"]
    )
    return rows, rels


def test_a_second_registration_where_the_mother_is_known_is_one_child(fitted, base):
    rows, rels = _registrations()
    res = _link(fitted, rows, base, ON, rels)
    assert _pid(res, "hl:kid1") == _pid(res, "hl:kid2")
    # without the key the pair waits below `auto` (the gate's kin evidence never read),
    # in the queue's within-index band (the small test model scores it p = 0.50)
    res0 = _link(fitted, rows, base, OFF, rels)
    assert _pid(res0, "hl:kid1") != _pid(res0, "hl:kid2")
    q = res0.review
    row = q[(q["key_a"] == "hl:kid1") & (q["key_b"] == "hl:kid2")]
    assert len(row) == 1 and row["probability"].iloc[0] < 0.95


def test_without_the_household_at_the_other_place_the_pair_waits(fitted, base):
    """The same two registrations with nobody of the boy's family recorded at the new
    address: the shape of a same-name, same-birthday stranger there."""
    rows, rels = _registrations(mum_at_new=False)
    res = _link(fitted, rows, base, ON, rels)
    assert _pid(res, "hl:kid1") != _pid(res, "hl:kid2")


def test_across_two_agencies_the_rule_does_not_apply(fitted, base):
    rows, rels = _registrations()
    rows[1] = {**rows[1], "key": "ed:kid2", "system": "ed", "kind": "pupil"}
    res = _link(fitted, rows, base, ON, rels)
    assert _pid(res, "hl:kid1") != _pid(res, "ed:kid2")
