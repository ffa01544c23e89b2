"""Forename ties beyond the ``nicknames`` dataset's own (spec 15-recall5, issue #13):
its nicknames hold for every spelling of a canonical name (``[name_variants]
dataset_spellings``), and the spec may list pairs of its own (``[name_variants] pairs``)."""

from __future__ import annotations

import pandas as pd
import pytest

from cpgraph.linkage.comparisons import nickname_equivalent
from cpgraph.linkage.standardise import name_variants, standardise
from cpgraph.linkage.variants import (
    dataset_spelling_ties,
    learn_name_variants,
    spelling_form,
)
from tests.specs import engine_with, spec_with

from .conftest import mention

HOME = dict(surname_m="wyatt", postcode="B37 4JQ")


def _pairs(**keys):
    spec = spec_with("name_variants", **keys)
    rows = [mention("p:1", forename_m="kate", surname_m="wyatt")]
    s = standardise(pd.DataFrame(rows), spec)
    return learn_name_variants(s, name_variants(s), spec)


def test_spelling_forms_keep_the_vowels():
    assert spelling_form("Catherine") == spelling_form("Katherine")
    assert spelling_form("Philip") == spelling_form("Phillip")
    assert spelling_form("Sidney") == spelling_form("Sydney")
    assert spelling_form("Dominic") == spelling_form("Dominick")
    # names a vowel apart are other names (often the other sex's)
    for a, b in (("louis", "louise"), ("frances", "francis"), ("martin", "martina")):
        assert spelling_form(a) != spelling_form(b)
    assert spelling_form("danny") != spelling_form("denny")


def test_kate_is_catherines_too():
    """The dataset ties Kate to Katherine and Kathryn only; Catherine is one name with
    Katherine, so Kate is hers too.  Names of one spelling form only."""
    ties = dataset_spelling_ties()
    assert not nickname_equivalent("kate", "catherine")
    assert nickname_equivalent("kate", "catherine", ties)
    assert nickname_equivalent("catherine", "katherine", ties)
    assert ("louis", "louise") not in ties and ("frances", "francis") not in ties
    assert not nickname_equivalent("francis", "frances", ties)
    assert not nickname_equivalent("martin", "martina", ties)


def test_keys_off_when_absent():
    off = _pairs(dataset_spellings=False, pairs=[])
    assert ("catherine", "kate") not in off
    assert ("catherine", "kate") in _pairs(dataset_spellings=True, pairs=[])
    listed = _pairs(dataset_spellings=False, pairs=[["Gosia", "Małgorzata"]])
    assert ("gosia", "malgorzata") in listed
    assert nickname_equivalent("gosia", "malgorzata", listed)
    assert not nickname_equivalent("gosia", "malgorzata", off)


@pytest.mark.parametrize("key", ["dataset_spellings", "pairs"])
def test_household_guard_reads_one_woman(pop, key):
    """A school's contact "Kate Wyatt" (no date of birth) at the address of "Catherine
    Wyatt": one woman, not two sisters; without the tie the household guard parts them.
    "Gosia" and "Małgorzata" likewise, from the spec's own list."""
    fn_a, fn_b = ("kate", "catherine") if key == "dataset_spellings" else ("gosia", "malgorzata")
    a = mention(
        "uhb:patient:1", system="uhb", kind="patient", forename_m=fn_b, dob="1989-01-13", **HOME
    )
    b = mention("ed:contact:1", system="ed", kind="contact", forename_m=fn_a, **HOME)
    keys = {"dataset_spellings": False, "pairs": []}
    on_keys = {**keys, key: True if key == "dataset_spellings" else [[fn_a, fn_b]]}
    off = engine_with("name_variants", **keys)
    on = engine_with("name_variants", **on_keys)
    m_off = off.fit(pop[0])
    m_on = on.fit(pop[0])
    x_off = off.explain_pair(a, b, model=m_off)
    x_on = on.explain_pair(a, b, model=m_on)
    assert x_off.household_guard
    assert not x_on.household_guard
    assert x_on.probability > x_off.probability
