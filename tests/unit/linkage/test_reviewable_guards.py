"""Reviewable guards (issue #13, spec v11): a guard the spec lists in `[guards]
reviewable` keeps its pair apart, but never out of sight: at or above `review` the pair
is a possible match whose reason is the guard, and a steward's LINK joins it.  Hard
cannot-links (different identifiers of one kind, the household guard) stay hard."""

from __future__ import annotations

import pytest

from cpgraph.linkage import LinkageEngine
from cpgraph.linkage.spec import REVIEWABLE_GUARDS, SpecError
from tests.specs import engine_with, spec_with

from .conftest import mention, queued
from .test_engine import link, pid

MAN = dict(forename_m="jordan", surname_m="bailey", postcode="DY4 7RR", sex="M", dob="1982-05-31")
NOMINAL = dict(system="wmp", kind="nominal")


@pytest.fixture(scope="module")
def base(indexed_pop):
    return indexed_pop


@pytest.fixture(scope="module")
def model(spec, base):
    return LinkageEngine(spec).fit(base)


NAMESAKES_HARD = dict(index_namesakes_at_home=["nominal"], reviewable=[])
NAMESAKES_SOFT = dict(index_namesakes_at_home=["nominal"], reviewable=["index_namesakes_at_home"])


def _namesakes():
    """A force's dated nominal and an undated one of the same name at the same address."""
    return [
        mention("wmp:nominal:1", **NOMINAL, **MAN),
        mention("wmp:nominal:2", **NOMINAL, **{**MAN, "dob": None}),
    ]


def _linked(eng, model, base, rows, **kw):
    eng.model = model
    return link(eng, rows, base, **kw)


def test_a_reviewable_guard_keeps_the_pair_apart_without_its_penalty(model):
    dated, undated = _namesakes()
    hard = engine_with("guards", **NAMESAKES_HARD).explain_pair(dated, undated, model=model)
    soft = engine_with("guards", **NAMESAKES_SOFT).explain_pair(dated, undated, model=model)
    off = engine_with("guards", index_namesakes_at_home=[]).explain_pair(
        dated, undated, model=model
    )
    assert hard.cannot_link == "household look-alike"
    assert soft.cannot_link == "kept apart for review: index_namesakes_at_home"
    # the pair keeps the model's own score: a steward sees how alike the two are
    assert soft.total_weight == off.total_weight > hard.total_weight
    assert soft.probability >= 0.6 and not soft.household_guard


def test_a_reviewable_guard_pair_is_a_possible_match_with_the_guard_as_reason(model, base):
    rows = _namesakes()
    soft = _linked(engine_with("guards", **NAMESAKES_SOFT), model, base, rows)
    assert pid(soft, "wmp:nominal:1") != pid(soft, "wmp:nominal:2")
    row = queued(soft, "wmp:nominal:1", "wmp:nominal:2")
    assert len(row) == 1
    assert row["reason"].iloc[0] == "index_namesakes_at_home"
    bd = row["breakdown"].iloc[0]
    assert bd["kept_apart"] == {"level": "index_namesakes_at_home", "weight": 0.0}
    # the same guard as a hard cannot-link: apart, and out of the stewards' sight
    hard = _linked(engine_with("guards", **NAMESAKES_HARD), model, base, rows)
    assert pid(hard, "wmp:nominal:1") != pid(hard, "wmp:nominal:2")
    assert queued(hard, "wmp:nominal:1", "wmp:nominal:2").empty


def test_a_steward_link_joins_a_reviewable_guard_pair(model, base):
    rows = _namesakes()
    res = _linked(
        engine_with("guards", **NAMESAKES_SOFT),
        model,
        base,
        rows,
        steward=[("wmp:nominal:1", "wmp:nominal:2", "LINK")],
    )
    assert pid(res, "wmp:nominal:1") == pid(res, "wmp:nominal:2")
    assert queued(res, "wmp:nominal:1", "wmp:nominal:2").empty


def test_a_third_record_does_not_join_a_reviewable_guard_pair(model, base):
    """The guard is a constraint on the two persons, not only on one edge: a hospital
    record of the father (dated, same address) does not pull the undated nominal in."""
    rows = [*_namesakes(), mention("uhb:patient:9", system="uhb", kind="patient", **MAN)]
    res = _linked(engine_with("guards", **NAMESAKES_SOFT), model, base, rows)
    assert pid(res, "uhb:patient:9") == pid(res, "wmp:nominal:1")
    assert pid(res, "wmp:nominal:2") != pid(res, "wmp:nominal:1")


def test_a_hard_rule_on_the_same_pair_wins(model):
    """Different valid PNC ids are two men whatever a reviewable guard says."""
    dated, undated = _namesakes()
    for r, pnc in ((dated, "2001/0123456A"), (undated, "2003/0654321Z")):
        r.update(pnc_id=pnc, pnc_id_valid=True)
    ex = engine_with("guards", **NAMESAKES_SOFT).explain_pair(dated, undated, model=model)
    assert ex.cannot_link is not None and not ex.cannot_link.startswith("kept apart")


def test_a_suffix_on_one_side_can_be_reviewable(model):
    father = dict(MAN, forename_m="gary", surname_m="lee", dob="1981-12-30")
    senior = mention("wmp:nominal:1", **NOMINAL, **{**father, "surname_m": "lee senior"})
    bare = mention("bcc:person:2", system="bcc", kind="person", **{**father, "dob": None})
    soft = engine_with(
        "guards", generation_suffix_one_side=True, reviewable=["generation_suffix_one_side"]
    )
    ex = soft.explain_pair(senior, bare, model=model)
    assert ex.cannot_link == "kept apart for review: generation_suffix_one_side"
    hard = engine_with("guards", generation_suffix_one_side=True, reviewable=[])
    assert hard.explain_pair(senior, bare, model=model).cannot_link == "household look-alike"


def test_only_the_listed_guards_can_be_reviewable():
    assert set(REVIEWABLE_GUARDS) == {
        "generation_suffix_one_side",
        "index_twins_middle_name",
        "index_namesakes_at_home",
        "index_household_surname_typo",  # v13
        "household_name_order",  # 15-alike5
        "index_twins_forename",  # 16-alike6
        "different_addresses",  # 17-alike7 (the place gate's reason)
        "different_middle_names",  # 24
        "household_surname_typo",  # 24
    }
    with pytest.raises(SpecError, match="reviewable"):
        spec_with("guards", reviewable=["household"])
