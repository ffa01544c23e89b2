"""A short forename one key off the other name, or a name tied to it, is no sibling
(spec v14, ``[guards] nickname_typo_edits``, issue #13)."""

from __future__ import annotations

import numpy as np

from cpgraph.linkage.comparisons import nickname_typo_hits
from tests.specs import engine_with

from .conftest import mention

HOME = dict(surname_m="palmer", postcode="WR10 1PX")


def test_one_key_off_a_short_name_is_a_misspelling():
    """ "Mije" (Mike, Michael's), "Jile" (Julie) and "Mqry" (Mary, tied to Mae) are one
    wrong key in a name too short for Jaro–Winkler 0.88; known names stay names."""
    a = np.array(["mije", "jile", "mqry", "joy", "samuel", "jon", "ellis"], object)
    b = np.array(["michael", "julie", "mae", "joe", "daniel", "jo", "elise"], object)
    assert not nickname_typo_hits(a, b, threshold=0.88).any()
    got = nickname_typo_hits(a, b, threshold=0.88, edits=1)
    assert got.tolist() == [True, True, True, False, False, False, False]


def test_household_guard_yields_to_a_keying_edit(fitted):
    """A council's "Mije Palmer" and a school's contact "Michael Palmer" at one address:
    one man with his name mistyped, not two brothers (the guard parts them without the
    key); "Daniel Palmer" there stays a brother."""
    a = mention(
        "cs:person:1", system="cs", kind="person", forename_m="mije", dob="1980-03-02", **HOME
    )
    b = mention("ed:contact:1", system="ed", kind="contact", forename_m="michael", **HOME)
    on, off = (engine_with("guards", nickname_typo_edits=n) for n in (1, 0))
    assert off.explain_pair(a, b, model=fitted.model).household_guard
    assert not on.explain_pair(a, b, model=fitted.model).household_guard
    c = {**b, "forename_m": "daniel"}
    assert on.explain_pair(a, c, model=fitted.model).household_guard
