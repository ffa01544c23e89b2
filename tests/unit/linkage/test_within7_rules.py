"""Spec 17-within7 (issue #19): a second registration an index's own search could not
find (a nickname, a misspelt surname, a birth date keyed with a slip) is not held apart
by the index's de-duplication: it gets `search_miss_weight` instead of the learned
within-index weight.  An exact match the index registered twice, a pair across two
indexes and different identifiers of one kind stay as they were."""

from __future__ import annotations

import numpy as np
import pytest

from cpgraph.linkage import LinkageEngine, load_spec
from cpgraph.linkage.scoring import search_miss
from cpgraph.linkage.spec import SpecError, spec_from_dict
from tests.specs import link_with

from .conftest import mention

# one hospital: the traced record with her NHS number at her home, and an A&E
# registration under her nickname and a misspelt surname, no NHS number, no address
REBECCA = dict(
    system="uhb",
    kind="patient",
    forename_m="rebecca",
    surname_m="francis",
    dob="1990-09-23",
    sex="F",
    postcode="B32 7WT",
    address="36 george grove",
    nhs_number="9434765919",
    nhs_number_valid=True,
)
BECKY = {
    **REBECCA,
    "forename_m": "becky",
    "surname_m": "frances",
    "postcode": None,
    "address": None,
    "nhs_number": None,
    "nhs_number_valid": None,
}


def _spec(on: bool = True, auto: float | None = None):
    """The shipped spec, without the rule when not ``on``, ``auto`` moved if given."""
    raw = load_spec().raw
    src = dict(raw["sources"])
    src.pop("untraced_weight", None)  # (19-within8's rule: tested on its own)
    if not on:
        src.pop("search_miss_weight")
    th = dict(raw["thresholds"]) if auto is None else {**raw["thresholds"], "auto": auto}
    return spec_from_dict({**raw, "sources": src, "thresholds": th})


def _pid(res, key):
    return res.assignments.set_index("key").loc[key, "person_id"]


def _weights(a, b, model) -> tuple[float, float]:
    on, off = LinkageEngine(_spec()), LinkageEngine(_spec(on=False))
    return tuple(e.explain_pair(a, b, model=model).total_weight for e in (on, off))


def test_a_search_miss_gets_the_spec_weight_not_the_learned_one(indexed_model):
    w_same = indexed_model.same_source_weights[0]
    assert w_same < 0
    rebecca = mention("uhb:patient:1", **REBECCA)
    on, off = _weights(rebecca, mention("uhb:patient:2", **BECKY), indexed_model)
    assert on == pytest.approx(off - w_same, abs=1e-3)
    # an exact match the index registered twice keeps the learned weight
    twice = {**REBECCA, "postcode": None, "address": None, "nhs_number": None}
    on, off = _weights(rebecca, mention("uhb:patient:3", **twice), indexed_model)
    assert on == pytest.approx(off, abs=1e-3)
    # across two indexes nothing changes
    other = mention("bch:patient:2", **{**BECKY, "system": "bch"})
    on, off = _weights(rebecca, other, indexed_model)
    assert on == pytest.approx(off, abs=1e-3)


def test_search_miss_levels():
    spec = load_spec()
    names = spec.names
    lv = np.zeros((4, len(names)), np.int8)
    fn, dob, sex = (names.index(n) for n in ("forename", "dob", "sex"))
    lv[1:3, fn] = spec.comparison("forename").labels.index("nickname")
    lv[2, sex] = len(spec.comparison("sex").labels) - 1  # else: a man and a woman
    lv[3, dob] = spec.comparison("dob").labels.index("year_off1")
    assert search_miss(spec, lv).tolist() == [False, True, False, False]
    lv[1, dob] = -1  # an undated record: the search had no date to miss
    assert not search_miss(spec, lv)[1]


def test_a_second_registration_links(indexed_pop, indexed_model):
    """With `auto` at 0.97 the pair scores above it only with the rule."""
    rows = [mention("uhb:patient:1", **REBECCA), mention("uhb:patient:2", **BECKY)]
    res = link_with(LinkageEngine(_spec(auto=0.97)), indexed_model, indexed_pop, rows)
    assert _pid(res, "uhb:patient:1") == _pid(res, "uhb:patient:2")
    off = LinkageEngine(_spec(on=False, auto=0.97))
    res = link_with(off, indexed_model, indexed_pop, rows)
    assert _pid(res, "uhb:patient:1") != _pid(res, "uhb:patient:2")


def test_different_identifiers_of_the_index_never_merge(indexed_pop, indexed_model):
    other = {**BECKY, "nhs_number": "4010232137", "nhs_number_valid": True}
    rows = [mention("uhb:patient:1", **REBECCA), mention("uhb:patient:2", **other)]
    eng = LinkageEngine(_spec(auto=0.97))
    assert eng.explain_pair(rows[0], rows[1], model=indexed_model).cannot_link
    res = link_with(eng, indexed_model, indexed_pop, rows)
    assert _pid(res, "uhb:patient:1") != _pid(res, "uhb:patient:2")


def test_spec_checks():
    raw = load_spec().raw
    bad = {**raw["sources"], "search_miss_levels": {"forename": ["exact", "soundex"]}}
    with pytest.raises(SpecError, match="search_miss_levels"):
        spec_from_dict({**raw, "sources": bad})
    bad = {**raw["sources"], "search_miss_levels": {"shoe_size": ["exact"]}}
    with pytest.raises(SpecError, match="unknown comparison"):
        spec_from_dict({**raw, "sources": bad})
    src = {k: v for k, v in raw["sources"].items() if k != "search_miss_levels"}
    with pytest.raises(SpecError, match="needs search_miss_levels"):
        spec_from_dict({**raw, "sources": src})
