"""Look-alikes kept apart in spec 21-alike10 (issue #13), failing when the key is off:

* ``[clustering] alias_distinct_surnames_vowels``: an alias whose surname is the holder's
  own surname spelt with other vowels ("Abdi Umar, alias Abdullahi Omar") is his name
  transliterated, not a second name, and corroborates no match with an "Abdullahi Omar"
  of his birthday at another address: the place gate decides that pair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpgraph.linkage import LinkageEngine
from cpgraph.linkage.comparisons import vowel_variants
from cpgraph.linkage.spec import DEFAULT_SPEC_PATH, loads_spec

from .conftest import mention

KEY = "alias_distinct_surnames_vowels = true"


def _spec(on: bool | None):
    text = DEFAULT_SPEC_PATH.read_text()
    assert f"\n{KEY}\n" in text
    if on is None:
        text = text.replace(f"\n{KEY}\n", "\n")
    elif not on:
        text = text.replace(KEY, "alias_distinct_surnames_vowels = false")
    return loads_spec(text)


def test_the_alike10_key_is_on_in_the_shipped_spec_and_off_when_absent():
    assert _spec(True).alias_distinct_surnames_vowels
    assert not _spec(None).alias_distinct_surnames_vowels


def test_vowel_variants_are_one_name_spelt_two_ways():
    assert vowel_variants("umar", "omar")
    assert vowel_variants("hussain", "hussein")
    assert vowel_variants("rahman", "rehman")
    assert not vowel_variants("umar", "umar")  # one spelling: nothing to say
    assert not vowel_variants("smith", "jones")
    assert not vowel_variants("mohamed", "mohammed")  # other length: the JW rule's question
    assert not vowel_variants("ali", "ala")  # too short to tell a name from a spelling


def _evidence(on: bool | None, alias_surname: str = "omar") -> list[bool]:
    """Alias evidence between the force's "Abdi Umar, alias Abdullahi <alias_surname>"
    (2006-03-10, B19 4ZG) and a hospital's "Abdullahi Omar" of that birthday at another
    address (B66 5WL), and between the same nominal and an "Abdullahi Smith" elsewhere
    whom his alias names (the new-partner kind the rule must keep)."""
    nominal = dict(
        forename_m="abdi",
        surname_m="umar",
        aliases_m=[f"abdullahi {alias_surname}"],
        dob="2006-03-10",
        sex="M",
        postcode="B19 4ZG",
    )
    other = dict(
        forename_m="abdullahi", surname_m=alias_surname, dob="2006-03-10", sex="M",
        postcode="B66 5WL",
    )  # fmt: skip
    rows = [mention("nominal", **nominal), mention("patient", **other)]
    eng = LinkageEngine(_spec(on))
    comparer = eng.comparer(pd.DataFrame(rows))
    i, j = np.array([0]), np.array([1])
    levels = comparer.compare(i, j).levels
    return eng.alias_evidence(comparer, levels, i, j).tolist()


def test_an_alias_that_is_the_holders_surname_in_other_vowels_corroborates_nothing():
    assert _evidence(True) == [False]
    # off (the key false or absent): the alias counts as a second surname
    assert _evidence(False) == [True]
    assert _evidence(None) == [True]


def test_an_alias_under_another_surname_still_corroborates():
    # "Abdi Umar, alias Abdullahi Smith" and an "Abdullahi Smith" of his birthday: a
    # second name, the new partner's history under it
    assert _evidence(True, alias_surname="smith") == [True]
