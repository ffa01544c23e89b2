"""Look-alike rules of spec 16-alike6 (issue #13), each shown failing when turned off.

* ``[guards] index_twins_forename``: two records of one master index at one address with
  one birth date whose forenames are two real names alike only by spelling ("Anna" and
  "Joanna" Zielinska, one hospital) are twins: kept apart for review, never merged;
* ``[relationship] household_suffix_review``: met by the rounds only at the anchor's
  address, a "Sr" record without a birth date and an unsuffixed one ("Luke Patterson
  Sr", a hospital's "father of", beside the family's "Luke Ian Patterson" born 2002) are
  held as a possible match, not linked: the suffix says the family has two such men;
* ``[clustering] ambiguous_middle_names_kept``: the middle-names rule reads a rival a
  reviewable guard keeps the mention from (the one-sided "Sr" guard), not only a linked
  one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpgraph.linkage import load_spec
from cpgraph.linkage.clustering import detach_ambiguous
from cpgraph.linkage.spec import spec_from_dict
from tests.specs import engine_with, link_with

from .conftest import mention, queued
from .test_engine import pid

# -- twins of one hospital whose forenames are two names of one spelling family --------
TWINS = dict(
    kind="patient",
    system="uhb",
    surname_m="zielinska",
    dob="2024-03-24",
    sex="F",
    postcode="B18 6GH",
    address="12 Heath Street",
)


def _twins(forename_b: str = "joanna", system_b: str = "uhb"):
    return (
        mention("uhb:patient:1", **{**TWINS, "forename_m": "anna"}),
        mention("x:patient:2", **{**TWINS, "system": system_b, "forename_m": forename_b}),
    )


def test_twins_of_one_index_with_real_names_alike_by_spelling_are_kept_apart(indexed_model):
    a, b = _twins()
    on = engine_with("guards", index_twins_forename=True).explain_pair(a, b, model=indexed_model)
    assert on.cannot_link == "kept apart for review: index_twins_forename"
    # without the key the Jaro-Winkler level, the date and the address link them
    off = engine_with("guards", index_twins_forename=False).explain_pair(a, b, model=indexed_model)
    assert off.cannot_link is None and off.probability >= 0.95


def test_the_index_twins_forename_guard_spares_misspellings_and_other_agencies(indexed_model):
    eng = engine_with("guards", index_twins_forename=True)
    # a misspelt name (no name anyone is called) is one child keyed twice
    a, b = _twins(forename_b="annna")
    assert eng.explain_pair(a, b, model=indexed_model).cannot_link is None
    # a nickname is the forename's own level, not a spelling: the index's question
    a, b = _twins(forename_b="ann")
    assert eng.explain_pair(a, b, model=indexed_model).cannot_link is None
    # two agencies' records: one agency's search says nothing of the other's
    a, b = _twins(system_b="bcc")
    assert eng.explain_pair(a, b, model=indexed_model).cannot_link is None
    # a real name one key off the other ("Lura" for Laura) may be a slip: one child
    a, b = _twins(forename_b="lura")
    a["forename_m"] = "laura"
    assert eng.explain_pair(a, b, model=indexed_model).cannot_link is None
    # one recorded forename (the pair's level may be an alias's): one child
    a, b = _twins(forename_b="anna")
    b["aliases_m"] = [("joanna", None, "zielinska")]
    assert eng.explain_pair(a, b, model=indexed_model).cannot_link is None


def test_index_twins_forename_is_a_possible_match(indexed_model, indexed_pop):
    eng = engine_with("guards", index_twins_forename=True)
    res = link_with(eng, indexed_model, indexed_pop, list(_twins()))
    assert pid(res, "uhb:patient:1") != pid(res, "x:patient:2")
    assert queued(res, "uhb:patient:1", "x:patient:2")["reason"].tolist() == [
        "index_twins_forename"
    ]


# -- a Senior's "father of" related person met at his family's address ------------------
HOME = dict(surname_m="patterson", postcode="B65 9DP", address="3 Oak Road")


def _patterson():
    """The hospital's "Jonathon Patterson Sr", father of the baby Paul (no address, no
    birth date), and the family's son "Jonathan Ian Patterson" (2002), a patient at the
    baby's address: only the relationship rounds' household path puts them side by side
    (the forenames a spelling apart: no blocking key holds the pair)."""
    rows = [
        mention(
            "uhb:baby", system="uhb", kind="patient", forename_m="paul", dob="2024-02-18",
            sex="M", **HOME,
        ),
        mention(
            "uhb:son", system="uhb", kind="patient", forename_m="jonathan", middle_m="ian",
            dob="2002-06-30", sex="M", **HOME,
        ),
        mention(
            "uhb:sr", system="uhb", kind="related_person", forename_m="jonathon",
            surname_m="patterson sr", sex="M",
        ),
    ]  # fmt: skip
    rels = pd.DataFrame(
        [("uhb:baby", "uhb:sr", "father")], columns=["from_key", "to_key", "relationship"]
    )
    return rows, rels


def _link_patterson(indexed_model, indexed_pop, on: bool):
    rows, rels = _patterson()
    eng = engine_with("relationship", household_suffix_review=on)
    return link_with(eng, indexed_model, indexed_pop, rows, rels)


def test_a_senior_met_only_at_the_address_is_a_possible_match(indexed_model, indexed_pop):
    on = _link_patterson(indexed_model, indexed_pop, True)
    assert pid(on, "uhb:sr") != pid(on, "uhb:son")
    assert queued(on, "uhb:sr", "uhb:son")["reason"].tolist() == ["generation_suffix_one_side"]
    # off: the household path links the Senior to his namesake son
    off = _link_patterson(indexed_model, indexed_pop, False)
    assert pid(off, "uhb:sr") == pid(off, "uhb:son")


def test_a_man_with_his_junior_at_home_is_the_senior(indexed_model, indexed_pop):
    """The family's dated "Jonathan Patterson" (1982) with a namesake born 2006 at home
    is the Senior the suffix names: the household path links the "Sr" record to him."""
    rows, rels = _patterson()
    rows[1].update(middle_m=None, dob="1982-03-07")
    rows.append(
        mention(
            "uhb:jr", system="uhb", kind="patient", forename_m="jonathan", dob="2006-05-01",
            sex="M", **HOME,
        )
    )  # fmt: skip
    eng = engine_with("relationship", household_suffix_review=True)
    res = link_with(eng, indexed_model, indexed_pop, rows, rels)
    assert pid(res, "uhb:sr") == pid(res, "uhb:son")
    # without the Junior he may be the son of an older namesake: a possible match
    res = link_with(eng, indexed_model, indexed_pop, rows[:3], rels)
    assert pid(res, "uhb:sr") != pid(res, "uhb:son")
    assert queued(res, "uhb:sr", "uhb:son")["reason"].tolist() == ["generation_suffix_one_side"]


def test_a_dated_senior_is_left_to_his_birth_date(indexed_model, indexed_pop):
    """A "Sr" record with his son's birth date is the son's record (the date decides)."""
    rows, rels = _patterson()
    rows[2]["dob"] = "2002-06-30"
    eng = engine_with("relationship", household_suffix_review=True)
    res = link_with(eng, indexed_model, indexed_pop, rows, rels)
    assert queued(res, "uhb:sr", "uhb:son").empty or (
        "generation_suffix_one_side" not in queued(res, "uhb:sr", "uhb:son")["reason"].tolist()
    )


# -- an undated nominal whose middle names are his own Sr records' ----------------------
# records: 0 the undated nominal "Ibrahim Rashid Ahmed" (name-only), 1 the son's nominal
# "Ibrahom Ahmed" (2004, no middle names), 2 the father's council record "Ibrahim Rashid
# Ahmed Sr" (1982): the one-sided "Sr" guard keeps 0 and 2 apart for review
LABELS = np.array([1, 1, 2])
EI, EJ = np.array([0, 0]), np.array([1, 2])
W = np.array([16.7, 27.0])
LINK = np.array([True, False])  # the pair with the father is a possible match, no link
HELD = np.array([False, True])
MIDDLE = np.array([False, True])
# father and son born a generation apart at one address; the nominal and the Sr record
CI, CJ = np.array([1, 0]), np.array([2, 2])
WEAK = np.array([True, False, False])


def _ahmed(held):
    return detach_ambiguous(
        LABELS,
        EI,
        EJ,
        W,
        LINK,
        CI,
        CJ,
        WEAK,
        1.0,
        years=np.array([-1, 2004, 1982]),
        plausible_hi=np.array([np.inf] * 3),
        generation_gap=12.0,
        generation_lag=10.0,
        middle=MIDDLE,
        middle_held=held,
    )


def test_middle_names_agreeing_with_a_possible_match_a_generation_away_detach_the_mention():
    out = _ahmed(HELD)
    assert out[0] != out[1] and out[0] != out[2]
    # off: the possible match is no rival, and the son keeps his father's nominal
    out = _ahmed(None)
    assert out[0] == out[1]


def test_a_possible_match_of_one_age_is_no_namesake():
    out = detach_ambiguous(
        LABELS, EI, EJ, W, LINK, CI, CJ, WEAK, 1.0,
        years=np.array([-1, 1982, 1982]), plausible_hi=np.array([np.inf] * 3),
        generation_gap=12.0, generation_lag=10.0, middle=MIDDLE, middle_held=HELD,
    )  # fmt: skip
    assert out[0] == out[1]


def test_the_alike6_keys_are_off_when_absent():
    raw = load_spec().raw
    spec = load_spec()
    assert spec.guard_index_twins_forename and spec.rel_household_suffix_review
    assert spec.ambiguous_middle_names_kept
    gd = {k: v for k, v in raw["guards"].items() if k != "index_twins_forename"}
    rel = {k: v for k, v in raw["relationship"].items() if k != "household_suffix_review"}
    cl = {k: v for k, v in raw["clustering"].items() if k != "ambiguous_middle_names_kept"}
    off = spec_from_dict({**raw, "guards": gd, "relationship": rel, "clustering": cl})
    assert not off.guard_index_twins_forename
    assert not off.rel_household_suffix_review
    assert not off.ambiguous_middle_names_kept
