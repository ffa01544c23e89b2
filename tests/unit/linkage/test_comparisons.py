"""Comparison levels on hand-checked pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpgraph.linkage.comparisons import (
    Comparer,
    nickname_equivalent,
    nickname_typo_hits,
    string_levels,
)
from cpgraph.linkage.spec import parse_level
from cpgraph.linkage.standardise import match_form, name_variants, standardise

from .conftest import mention


def levels_of(spec, a: dict, b: dict) -> dict[str, str]:
    s = standardise(pd.DataFrame([mention("a", **a), mention("b", **b)]), spec)
    pl = Comparer(s, name_variants(s), spec).compare(np.array([0]), np.array([1]))
    out = {}
    for k, c in enumerate(spec.comparisons):
        lv = int(pl.levels[0, k])
        out[c.name] = "missing" if lv < 0 else c.labels[lv]
    return out


def test_match_form_folds_accents_hyphens_apostrophes():
    got = match_form(pd.Series(["Zoë", "Nowak-Łukasik", " O'Brien ", None, "  "]))
    assert got.tolist() == ["zoe", "nowak lukasik", "obrien", None, None]


def test_nicknames_come_from_dataset():
    assert nickname_equivalent("bill", "william")
    assert nickname_equivalent("peggy", "margaret")
    assert not nickname_equivalent("william", "margaret")


@pytest.mark.parametrize(
    "a, b, want",
    [
        ("william", "william", "exact"),
        ("bill", "william", "nickname"),
        ("jonathan", "jonathen", "jw>=0.92"),
        ("j", "jack", "initial"),
        ("amelia", "oscar", "else"),
    ],
)
def test_forename_levels(spec, a, b, want):
    assert levels_of(spec, {"forename_m": a}, {"forename_m": b})["forename"] == want


def test_missing_is_its_own_level(spec):
    got = levels_of(spec, {"forename_m": "amelia"}, {"surname_m": "smith"})
    assert got["forename"] == "missing" and got["surname"] == "missing"


@pytest.mark.parametrize(
    "a, b, want",
    [
        ("2010-03-04", "2010-03-04", "exact"),
        ("2010-03-04", "2010-04-03", "swap_dm"),
        ("2010-03-04", "2010-03-07", "osa<=1"),
        ("2010-03-14", "2011-03-14", "osa<=1"),
        # two adjacent digits swapped: day 13 typed 31, 1987 typed 1978 (v9)
        ("1987-01-13", "1987-01-31", "osa<=1"),
        ("1987-05-02", "1978-05-02", "osa<=1"),
        ("2010-12-25", "2009-12-25", "year_off1"),
        ("2010-03-04", "2010-03-21", "month_year"),
        ("1980-03-04", "2010-06-21", "else"),
    ],
)
def test_dob_levels(spec, a, b, want):
    assert levels_of(spec, {"dob": a}, {"dob": b})["dob"] == want


@pytest.mark.parametrize(
    "a, b, want",
    [
        ("B15 2TT", "B15 2TT", "exact"),
        ("B15 2TT", "B15 2QQ", "sector"),
        ("B15 2TT", "B15 9QQ", "district"),
        ("B15 2TT", "CV1 2TT", "else"),
    ],
)
def test_postcode_levels(spec, a, b, want):
    assert levels_of(spec, {"postcode": a}, {"postcode": b})["postcode"] == want


def test_double_barrelled_surname_part(spec):
    got = levels_of(
        spec,
        {"forename_m": "anna", "surname_m": "nowak lukasik"},
        {"forename_m": "anna", "surname_m": "lukasik"},
    )
    assert got["surname"] == "part"


def test_forename_surname_order_swap(spec):
    got = levels_of(
        spec,
        {"forename_m": "oyelaran", "surname_m": "adebayo"},
        {"forename_m": "adebayo", "surname_m": "oyelaran"},
    )
    assert got["forename"] == "exact" and got["surname"] == "exact"


def test_forename_middle_swap(spec):
    got = levels_of(
        spec,
        {"forename_m": "james", "middle_m": "robert", "surname_m": "hall"},
        {"forename_m": "robert", "middle_m": "james", "surname_m": "hall"},
    )
    # a swap is weaker evidence than the recorded forename: capped at `swap_level`
    assert got["forename"] == "nickname" and got["middle_names"] == "exact"


def test_recorded_forename_beats_a_middle_name_swap(spec):
    """Twins "Usman Mohammed" and "Mohammed": a record of "Mohammed" fits the second better."""
    police = {"forename_m": "mohammed", "surname_m": "hussain", "dob": "2010-01-27"}
    usman = {"forename_m": "usman", "middle_m": "mohammed", "surname_m": "hussain"}
    mohammed = {"forename_m": "mohammed", "surname_m": "hussain"}
    assert levels_of(spec, police, {**usman, "dob": "2010-01-27"})["forename"] == "nickname"
    assert levels_of(spec, police, {**mohammed, "dob": "2010-01-27"})["forename"] == "exact"


def test_the_swap_cap_does_not_change_which_names_are_compared(spec):
    # B's middle name is A's forename, their middle names differ: the swap is the best
    # reading (forename agrees, middle names do not).  Capping it must not make the
    # reading "forenames differ, middle names agree" (A's middle vs B's forename) win.
    got = levels_of(
        spec,
        {"forename_m": "linda", "middle_m": "natasha", "surname_m": "smith"},
        {"forename_m": "christine", "middle_m": "linda", "surname_m": "smith"},
    )
    assert got["forename"] == "nickname" and got["middle_names"] == "else"


def test_order_swap_is_not_capped(spec):
    got = levels_of(
        spec,
        {"forename_m": "hussain", "middle_m": "ali", "surname_m": "mohammed"},
        {"forename_m": "mohammed", "middle_m": "ali", "surname_m": "hussain"},
    )
    assert got["forename"] == "exact" and got["surname"] == "exact"


def test_every_alias_is_compared(spec):
    a = {"forename_m": "daniel", "surname_m": "ward", "aliases_m": ["danny smith", "dan k morris"]}
    got = levels_of(spec, a, {"forename_m": "dan", "surname_m": "morris"})
    assert got["surname"] == "exact" and got["forename"] == "exact"


def test_former_surname_is_compared(spec):
    got = levels_of(
        spec,
        {"forename_m": "ruby", "surname_m": "king", "former_surname_m": "hall"},
        {"forename_m": "ruby", "surname_m": "hall"},
    )
    assert got["surname"] == "exact"


def test_identifiers_only_when_valid(spec):
    got = levels_of(
        spec,
        {"nhs_number": "9434765919", "nhs_number_valid": True},
        {"nhs_number": "9434765870", "nhs_number_valid": True},
    )
    assert got["nhs_number"] == "else"
    got = levels_of(
        spec,
        {"nhs_number": "9434765919", "nhs_number_valid": True},
        {"nhs_number": "1234567890", "nhs_number_valid": False},
    )
    assert got["nhs_number"] == "missing"


def test_string_levels_vectorised_matches_scalar():
    lv = (parse_level("exact", "string"), parse_level("jw>=0.9", "string"))
    a = np.array(["martha", "martha", None, "abc"], dtype=object)
    b = np.array(["martha", "marhta", "x", "xyz"], dtype=object)
    assert string_levels(a, b, lv).tolist() == [0, 1, -1, 2]


def test_postcode_levels_by_code_equal_string_version(spec, pop):
    from cpgraph.linkage.comparisons import postcode_levels

    s = standardise(pop[0], spec)
    cmp_ = Comparer(s, name_variants(s), spec)
    rng = np.random.default_rng(3)
    i = rng.integers(0, len(s), 3000)
    j = rng.integers(0, len(s), 3000)
    i = np.concatenate([i, np.arange(50)])
    j = np.concatenate([j, np.arange(50)])  # some exact agreements
    levels = spec.comparison("postcode").levels
    got = cmp_._postcode(i, j, levels)
    assert np.array_equal(got, postcode_levels(s, i, j, levels))
    assert (got == 0).sum() >= 50


def test_two_similarity_bands_share_one_computation():
    lv = (
        parse_level("exact", "name"),
        parse_level("jw>=0.92", "name"),
        parse_level("jw>=0.85", "name"),
    )
    a = np.array(["jonathan", "martha", "amelia", None], dtype=object)
    b = np.array(["jonathen", "marhta", "oscar", "x"], dtype=object)
    from rapidfuzz.distance import JaroWinkler

    got = string_levels(a, b, lv).tolist()
    want = []
    for x, y in zip(a[:3], b[:3], strict=True):
        sim = JaroWinkler.normalized_similarity(x, y)
        want.append(0 if x == y else 1 if sim >= 0.92 else 2 if sim >= 0.85 else 3)
    assert got == [*want, -1]


def test_a_misspelling_of_an_equivalent_name_is_a_nickname_typo():
    a = np.array(["susna", "steve", "jacike", "harry", "oliver", None, "amara"], dtype=object)
    b = np.array(["sue", "stepphen", "jacqueline", "harvey", "olivia", "sue", "zara"], dtype=object)
    # Susna ≈ Susan ~ Sue; Stepphen ≈ Stephen ~ Steve; Jacike ≈ Jackie ~ Jacqueline; but
    # Harvey is no misspelt Harry, Olivia no misspelt Oliver, and nothing matches a None
    assert nickname_typo_hits(a, b).tolist() == [True, True, True, False, False, False, False]
    # names of twin sisters: a real name is not a typo of another through a chain of
    # nicknames (Anna ~ Ann ~ Roseanna ~ Rose ~ Rosie)
    c = np.array(["anna", "ella", "maya", "mia", "anna"], dtype=object)
    d = np.array(["rosie", "rose", "molly", "ellie", "chris"], dtype=object)
    assert not nickname_typo_hits(c, d).any()
    # symmetric, and the threshold is the caller's
    assert nickname_typo_hits(b, a).tolist() == nickname_typo_hits(a, b).tolist()
    assert not nickname_typo_hits(a[:1], b[:1], threshold=0.99).any()


def test_comparer_nickname_typo_remembers_judged_pairs_without_changing_them(spec):
    names = ["susna", "sue", "stepphen", "steve", "anna", "rosie", None, "jacike"]
    s = standardise(
        pd.DataFrame([mention(f"r{k}", forename_m=x) for k, x in enumerate(names)]), spec
    )
    cmp_ = Comparer(s, name_variants(s), spec)
    fn = s["fn"].to_numpy(object)
    rng = np.random.default_rng(3)
    for _ in range(4):  # later calls mix judged and new name pairs, in either order
        i = rng.integers(0, len(names), 12)
        j = rng.integers(0, len(names), 12)
        want = nickname_typo_hits(fn[i], fn[j], threshold=0.92)
        assert cmp_.nickname_typo(i, j, 0.92).tolist() == want.tolist()
    assert cmp_.nickname_typo(np.array([0, 2]), np.array([1, 3]), 0.92).tolist() == [True, True]
