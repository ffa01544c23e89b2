"""Learned forename spellings of one name join into classes (spec v13,
``[name_variants] spelling_classes``, issue #13)."""

from __future__ import annotations

import pandas as pd

from cpgraph.linkage import load_spec
from cpgraph.linkage.comparisons import nickname_equivalent
from cpgraph.linkage.spec import spec_from_dict
from cpgraph.linkage.standardise import name_variants, standardise
from cpgraph.linkage.variants import learn_name_variants, spelling_skeleton

from .conftest import mention


def _spec(on: bool):
    raw = load_spec().raw
    return spec_from_dict(
        {**raw, "name_variants": {**raw["name_variants"], "spelling_classes": on}}
    )


def _learned(on: bool, ties: list[tuple[str, str]]):
    """Learned pairs from two police records per tie, each naming the other as an alias."""
    rows = []
    for k, (a, b) in enumerate(ties):
        for n in range(2):
            rows.append(
                mention(f"p:{k}:{n}", forename_m=a, surname_m="warsame", aliases_m=[f"{b} warsame"])
            )
    spec = _spec(on)
    s = standardise(pd.DataFrame(rows), spec)
    return learn_name_variants(s, name_variants(s), spec)


def test_transliterations_share_a_skeleton_and_distinct_names_may_too():
    assert {spelling_skeleton(x) for x in ("Mohammed", "Muhammad", "Mohamud", "Maxamed")} == {
        "mhmd"
    }
    assert spelling_skeleton("Zaynab") == spelling_skeleton("Zeinab") == "znb"
    assert spelling_skeleton("Ayesha") == spelling_skeleton("Aisha")
    assert spelling_skeleton("Hamzah") == spelling_skeleton("Hamza")
    # a skeleton is a necessary condition only: Hassan and Hussein are two names
    assert spelling_skeleton("Hassan") == spelling_skeleton("Hussein")


def test_spellings_join_and_nicknames_follow_every_spelling():
    ties = [
        ("maxamed", "mohamed"),
        ("mohamed", "mohamud"),
        ("mo", "mohamed"),
        ("abdi", "abdullahi"),
        ("abdi", "abdirahman"),
        ("em", "emma"),
        ("em", "emily"),
        ("hassan", "hasan"),
        ("hussein", "husain"),
    ]
    off, on = _learned(False, ties), _learned(True, ties)
    # without the classes, Maxamed and Mohamud (never recorded together) are two names
    assert ("maxamed", "mohamud") not in off and ("maxamed", "mo") not in off
    assert not nickname_equivalent("maxamed", "mohamud", off)
    # with them, one name in three spellings, and Mo is each spelling's nickname
    assert {("maxamed", "mohamud"), ("maxamed", "mo"), ("mo", "mohamud")} <= set(on)
    assert nickname_equivalent("maxamed", "mohamud", on)
    assert set(off) <= set(on)
    # nickname ties are not chained: Abdi is both men's, they stay two names
    assert ("abdirahman", "abdullahi") not in on
    assert not nickname_equivalent("abdirahman", "abdullahi", on)
    # short names are nicknames, not spellings: Emma and Emily are two names
    assert ("emily", "emma") not in on
    # one skeleton is not one name unless the data joined them
    assert not nickname_equivalent("hassan", "hussein", on)
    assert not nickname_equivalent("hasan", "husain", on)
