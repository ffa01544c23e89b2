"""A forename one keying slip from a name tied to the other's is no sibling (spec v12,
``[guards] nickname_typo_jw`` 0.88, issue #13)."""

from __future__ import annotations

from cpgraph.linkage import load_spec
from tests.specs import engine_with

from .conftest import mention

HOME = dict(surname_m="vaughan", postcode="B5 8DF", sex="M")


def test_a_misspelt_samuel_beside_sam_at_home_is_not_a_brother(fitted):
    """ "Sqmuel" (one key off Samuel, Jaro–Winkler 0.90) and "Sam" at one address: one
    man, not two brothers; at the v7 threshold (0.92) the household guard parted them."""
    assert load_spec().guard_nickname_typo == 0.88
    a = mention(
        "cs:person:1", system="cs", kind="person", forename_m="sqmuel", dob="1997-05-13", **HOME
    )
    b = mention("ed:contact:1", system="ed", kind="contact", forename_m="sam", **HOME)
    # (v14's keying-edit reading of short names off: Sqmuel is one key off Samuel too)
    v12, v7 = (
        engine_with("guards", nickname_typo_jw=jw, nickname_typo_edits=0) for jw in (0.88, 0.92)
    )
    assert not v12.explain_pair(a, b, model=fitted.model).household_guard
    assert v7.explain_pair(a, b, model=fitted.model).household_guard
    # two brothers' names stay two names: Samuel and a known name like Daniel
    c = {**b, "forename_m": "daniel"}
    assert v12.explain_pair(a, c, model=fitted.model).household_guard
