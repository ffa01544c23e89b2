"""Spec 19-within8 (issue #19): second registrations in one master index.

`untraced_weight`: a registration without the index's own identifier (a hospital's
patient with no NHS number) beside a record of the same index that carries it, agreeing on
name, birth date and sex (an exact match included), gets that weight instead of the
learned within-index weight: the index could not trace it, so its de-duplication never
compared the two.  Two traced records with different numbers stay a cannot-link; two
untraced records, a council's persons and pairs across two indexes are unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest

from cpgraph.linkage import LinkageEngine, load_spec
from cpgraph.linkage.scoring import untraced
from cpgraph.linkage.spec import SpecError, spec_from_dict
from tests.specs import link_with

from .conftest import mention

# one hospital: the traced record (NHS number, home address), and a registration of the
# same name, birth date and sex with no NHS number and no address (an A&E attendance)
TRACED = dict(
    system="uhb",
    kind="patient",
    forename_m="neha",
    surname_m="gill",
    dob="1974-03-19",
    sex="F",
    postcode="B68 3JY",
    address="156 ladypool close",
    nhs_number="9434765919",
    nhs_number_valid=True,
)
UNTRACED = {
    **TRACED,
    "postcode": None,
    "address": None,
    "nhs_number": None,
    "nhs_number_valid": None,
}


def _spec(untraced_on: bool = True, auto: float | None = None):
    """The shipped spec without the rule when not ``untraced_on``, ``auto`` moved if given."""
    raw = load_spec().raw
    src = dict(raw["sources"])
    if not untraced_on:
        src.pop("untraced_weight")
    th = dict(raw["thresholds"]) if auto is None else {**raw["thresholds"], "auto": auto}
    return spec_from_dict({**raw, "sources": src, "thresholds": th})


def _pid(res, key):
    return res.assignments.set_index("key").loc[key, "person_id"]


def _weights(a, b, model) -> tuple[float, float]:
    on, off = LinkageEngine(_spec()), LinkageEngine(_spec(untraced_on=False))
    return tuple(e.explain_pair(a, b, model=model).total_weight for e in (on, off))


def test_untraced_registration_gets_the_spec_weight(indexed_model):
    w_same = indexed_model.same_source_weights[0]
    assert w_same < 0
    traced = mention("uhb:patient:1", **TRACED)
    on, off = _weights(traced, mention("uhb:patient:2", **UNTRACED), indexed_model)
    assert on == pytest.approx(off - w_same, abs=1e-3)
    # two untraced registrations: the learned weight
    both = {**TRACED, "nhs_number": None, "nhs_number_valid": None}
    pair = mention("uhb:patient:3", **both), mention("uhb:patient:2", **UNTRACED)
    on, off = _weights(*pair, indexed_model)
    assert on == pytest.approx(off, abs=1e-3)
    # across two indexes nothing changes
    other = mention("bch:patient:2", **{**UNTRACED, "system": "bch"})
    on, off = _weights(traced, other, indexed_model)
    assert on == pytest.approx(off, abs=1e-3)
    # a kind with no identifier of its own (a council's persons) is never untraced
    council = {**TRACED, "system": "cs", "kind": "person"}
    second = {**council, "nhs_number": None, "postcode": None, "address": None}
    pair = mention("cs:person:1", **council), mention("cs:person:2", **second)
    on, off = _weights(*pair, indexed_model)
    assert on == pytest.approx(off, abs=1e-3)


def test_untraced_levels():
    spec = load_spec()
    names = spec.names
    lv = np.zeros((4, len(names)), np.int8)
    sex, dob = names.index("sex"), names.index("dob")
    lv[2, sex] = len(spec.comparison("sex").labels)  # else: a man and a woman
    lv[3, dob] = spec.comparison("dob").labels.index("year_off1")
    own_a = np.array([True, True, True, True])
    own_b = np.array([True, False, False, False])
    assert untraced(spec, lv, own_a, own_b).tolist() == [False, True, False, False]
    lv[1, dob] = -1  # an undated registration: nothing to agree on
    assert not untraced(spec, lv, own_a, own_b)[1]


def test_an_untraced_registration_links(indexed_pop, indexed_model):
    """With `auto` raised, the exact pair links only with the rule."""
    rows = [mention("uhb:patient:1", **TRACED), mention("uhb:patient:2", **UNTRACED)]
    eng = LinkageEngine(_spec())
    p_on = eng.explain_pair(rows[0], rows[1], model=indexed_model).probability
    off = LinkageEngine(_spec(untraced_on=False))
    p_off = off.explain_pair(rows[0], rows[1], model=indexed_model).probability
    assert p_off < p_on
    auto = (p_on + p_off) / 2
    res = link_with(LinkageEngine(_spec(auto=auto)), indexed_model, indexed_pop, rows)
    assert _pid(res, "uhb:patient:1") == _pid(res, "uhb:patient:2")
    res = link_with(LinkageEngine(_spec(False, auto=auto)), indexed_model, indexed_pop, rows)
    assert _pid(res, "uhb:patient:1") != _pid(res, "uhb:patient:2")


def test_traced_records_with_different_numbers_never_merge(indexed_pop, indexed_model):
    other = {**UNTRACED, "nhs_number": "4010232137", "nhs_number_valid": True}
    rows = [mention("uhb:patient:1", **TRACED), mention("uhb:patient:2", **other)]
    eng = LinkageEngine(_spec())
    assert eng.explain_pair(rows[0], rows[1], model=indexed_model).cannot_link
    res = link_with(eng, indexed_model, indexed_pop, rows)
    assert _pid(res, "uhb:patient:1") != _pid(res, "uhb:patient:2")


def test_spec_checks():
    raw = load_spec().raw
    bad = {**raw["sources"], "own_identifiers": {"patient": "surname"}}
    with pytest.raises(SpecError, match="own_identifiers"):
        spec_from_dict({**raw, "sources": bad})
    src = {k: v for k, v in raw["sources"].items() if k != "own_identifiers"}
    with pytest.raises(SpecError, match="untraced_weight needs own_identifiers"):
        spec_from_dict({**raw, "sources": src})
    off = ("own_identifiers", "untraced_weight")
    src = {k: v for k, v in raw["sources"].items() if k not in off}
    spec = spec_from_dict({**raw, "sources": src})
    assert spec.untraced_weight is None and not spec.own_identifiers
