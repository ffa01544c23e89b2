"""Spec 22-recall11 (issue #13): a year keyed with a slip is compared with the full name
and the birthday (`full_name_birthday` with `year_slip = true`): one year out, or the
year's last two digits transposed, and no other year."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from cpgraph.linkage.blocking import (
    RuleBlocks,
    candidate_pairs,
    rule_pairs,
    variant_block_table,
    year_slip_pairs,
)
from cpgraph.linkage.spec import DEFAULT_SPEC_PATH, loads_spec
from cpgraph.linkage.standardise import name_variants, standardise

from .conftest import mention

RULE = '{ name = "full_name_birthday", keys = ["fn", "sn", "dob_md"], year_slip = true },'


SHIPPED = "# " + RULE  # spec 23 ships the rule off (held out: a cost on alias_heavy)


def _spec(year_slip: bool | None):
    """The shipped spec with the rule on and its `year_slip` set (None: the key removed,
    the rule kept: every year paired), or as shipped, off (False)."""
    text = DEFAULT_SPEC_PATH.read_text()
    assert text.count(SHIPPED) == 1
    if year_slip is None:
        return loads_spec(text.replace(SHIPPED, RULE.replace(", year_slip = true", "")))
    return loads_spec(text.replace(SHIPPED, RULE) if year_slip else text)


def test_the_shipped_spec_holds_the_slip_rule_off_and_it_pairs_a_slipped_year_only(spec):
    assert "full_name_birthday" not in {r.name for r in spec.blocking}
    rules = {r.name: r for r in _spec(True).blocking}
    assert rules["full_name_birthday"].year_slip
    assert rules["full_name_birthday"].keys == ("fn", "sn", "dob_md")
    assert not any(r.year_slip for n, r in rules.items() if n != "full_name_birthday")
    assert not {r.name: r for r in _spec(None).blocking}["full_name_birthday"].year_slip


def test_a_year_slip_is_one_year_out_or_its_last_digits_transposed():
    years = np.array([1989, 1990, 1998, 1999, 1979, 1989, -1, 2012, 2021, 2001, 1889])
    pairs = [
        (0, 1, True),  # one year out (across a decade)
        (0, 2, True),  # 1989 / 1998: the last two digits transposed
        (7, 8, True),  # 2012 / 2021
        (0, 3, False),  # 1989 / 1999: the tens digit alone, ten years
        (8, 9, False),  # 2021 / 2001: the tens digit alone
        (0, 4, False),  # ten years
        (0, 5, False),  # the same year: the date rules pair those
        (0, 6, False),  # no year
        (0, 10, False),  # another century
        (2, 3, True),  # one year out
    ]
    i = np.array([a for a, _, _ in pairs])
    j = np.array([b for _, b, _ in pairs])
    assert year_slip_pairs(years, i, j).tolist() == [x for *_, x in pairs]


ROWS = [
    # "Liz Brown" born 1989-07-15 at one address and 1998-07-15 (the year's digits
    # transposed) and 1990-07-15 (a year out) at two others
    mention("a", forename_m="liz", surname_m="brown", dob="1989-07-15", postcode="B23 5WW"),
    mention("b", forename_m="liz", surname_m="brown", dob="1998-07-15", postcode="B4 7AX"),
    mention("c", forename_m="liz", surname_m="brown", dob="1990-07-15", postcode="B9 9ZZ"),
    # her namesake ten years on (the tens digit alone), and one of another year
    mention("d", forename_m="liz", surname_m="brown", dob="1999-07-15", postcode="B8 8ZZ"),
    mention("e", forename_m="liz", surname_m="brown", dob="1975-07-15", postcode="B7 7ZZ"),
]


def _pairs(spec, rows):
    s = standardise(pd.DataFrame(rows), spec)
    vt = variant_block_table(s, name_variants(s), spec)
    a, b = candidate_pairs(s, vt, spec)
    return set(zip(a.tolist(), b.tolist(), strict=True)), s, vt


def test_a_slipped_year_at_another_address_is_compared_and_a_namesake_decade_is_not():
    base, *_ = _pairs(_spec(False), ROWS)
    assert not {(0, 1), (0, 2), (0, 3), (0, 4), (1, 3), (2, 3)} & base
    got, s, vt = _pairs(_spec(True), ROWS)
    # 1998 / 1999 and 1989 / 1990 are a year out as well: one slip each
    assert got - base == {(0, 1), (0, 2), (1, 3)}
    # without `year_slip` the rule pairs every year of that birthday (20-recall9's form)
    every, *_ = _pairs(_spec(None), ROWS)
    assert every - base == {(x, y) for x in range(5) for y in range(x + 1, 5)}


def test_every_pair_path_makes_the_same_pairs():
    spec = _spec(True)
    s = standardise(pd.DataFrame(ROWS), spec)
    vt = variant_block_table(s, name_variants(s), spec)
    rule = next(r for r in spec.blocking if r.name == "full_name_birthday")
    a, b = rule_pairs(rule, s, vt, spec.max_block_size)
    want = {(0, 1), (0, 2), (1, 3)}
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == want
    blocks = RuleBlocks(rule, s, vt, spec.max_block_size)
    i, j = blocks.pairs(0, len(s))
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == want
    left = np.zeros(len(s), bool)
    left[[0, 3]] = True
    i, j = blocks.touching(np.flatnonzero(left), left)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == want
    # an incremental delta of one record
    one = np.zeros(len(s), bool)
    one[1] = True
    a, b = rule_pairs(rule, s, vt, spec.max_block_size, left=one)
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == {(0, 1), (1, 3)}
    assert dataclasses.replace(rule, year_slip=False) != rule


def test_the_partitioned_engine_makes_the_same_pairs():
    from cpgraph.linkage.distributed import block_key_rows, block_partition_pairs

    spec = _spec(True)
    s = standardise(pd.DataFrame(ROWS), spec)
    vt = variant_block_table(s, name_variants(s), spec)
    r = next(k for k, x in enumerate(spec.blocking) if x.name == "full_name_birthday")
    keys = list(spec.blocking[r].keys)
    for parts in (1, 3):
        rows = block_key_rows(s, vt, spec, parts)
        codes = [
            block_partition_pairs(t, keys, spec.max_block_size, len(s))
            for (rr, _), t in rows.items()
            if rr == r
        ]
        code = np.unique(np.concatenate(codes))
        got = set(zip((code // len(s)).tolist(), (code % len(s)).tolist(), strict=True))
        assert got == {(0, 1), (0, 2), (1, 3)}
