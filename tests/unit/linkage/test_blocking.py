"""Blocking rules and the hash-based pair-array helpers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from cpgraph.linkage.arrays import isin, unique_sorted
from cpgraph.linkage.blocking import (
    candidate_pairs,
    rule_pairs,
    unique_pairs,
    variant_block_table,
)
from cpgraph.linkage.spec import BlockingRule, loads_spec
from cpgraph.linkage.standardise import name_variants, standardise

from .conftest import mention


def _std(spec, rows):
    s = standardise(pd.DataFrame(rows), spec)
    return s, variant_block_table(s, name_variants(s), spec)


def test_one_side_missing_only_pairs_a_mention_without_the_column(spec):
    rows = [
        mention("a", forename_m="jack", surname_m="smith", dob="1980-01-02"),
        mention("b", forename_m="jack", surname_m="smith", dob="1990-03-04"),
        mention("c", forename_m="jack", surname_m="smith"),
        mention("d", forename_m="jack", surname_m="smith"),
    ]
    s, vt = _std(spec, rows)
    full = BlockingRule("fs", ("fn", "sn"))
    narrow = BlockingRule("fs", ("fn", "sn"), one_side_missing="dob")
    a, b = unique_pairs(*rule_pairs(full, s, vt, 100), len(s))
    assert len(a) == 6
    a, b = unique_pairs(*rule_pairs(narrow, s, vt, 100), len(s))
    got = set(zip(a.tolist(), b.tolist(), strict=True))
    assert got == {(0, 2), (0, 3), (1, 2), (1, 3), (2, 3)}  # never (a, b): both have a DOB
    left = np.array([False, False, False, True])  # incremental: only pairs touching d
    a, b = unique_pairs(*rule_pairs(narrow, s, vt, 100, left), len(s))
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == {(0, 3), (1, 3), (2, 3)}


def test_a_delta_in_a_block_of_many_undated_mentions_makes_only_its_own_pairs(spec, merged_rows):
    # 1.29M mentions, a 1% delta: every undated mention of a touched name block was joined
    # to its whole block before the pairs not touching the delta were dropped (~650M rows,
    # the incremental run killed at 14.7 GB)
    rows = [mention(f"u{k}", forename_m="jack", surname_m="smith") for k in range(150)]
    rows += [
        mention(f"d{k}", forename_m="jack", surname_m="smith", dob=f"19{50 + k % 40}-01-02")
        for k in range(150)
    ]
    s, vt = _std(spec, rows)
    narrow = BlockingRule("fs", ("fn", "sn"), one_side_missing="dob")
    i, j = unique_pairs(*rule_pairs(narrow, s, vt, 1000), len(s))
    merged = merged_rows
    for one in (3, 200):  # an undated mention, a dated one
        left = np.zeros(len(s), bool)
        left[one] = True
        merged.clear()
        a, b = unique_pairs(*rule_pairs(narrow, s, vt, 1000, left), len(s))
        touch = left[i] | left[j]
        assert np.array_equal(a, i[touch]) and np.array_equal(b, j[touch])
        assert len(a) >= 149
        # rows joined: about the delta's own pairs (a record is a row per variant of its
        # name), not every undated mention against the whole block (tens of thousands)
        assert merged and sum(merged) <= 4 * len(s), merged  # (the join was watched)


def test_spec_reads_one_side_missing():
    text = """
version = "3"
[blocking]
rules = [{ name = "fs", keys = ["fn", "sn"], one_side_missing = "dob" }]
[[comparisons]]
name = "forename"
kind = "name"
role = "fn"
levels = ["exact"]
"""
    rule = loads_spec(text).blocking[0]
    assert rule.one_side_missing == "dob" and rule.keys == ("fn", "sn")


def test_array_helpers_match_numpy():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 50, 500)
    v = rng.integers(0, 50, 30)
    assert np.array_equal(unique_sorted(x), np.unique(x))
    assert np.array_equal(isin(x, v), np.isin(x, v))
    assert not isin(x, np.empty(0, np.int64)).any()


def test_training_samples_whole_blocks_of_a_large_rule(spec):
    from cpgraph.linkage.blocking import sampled_rule_pairs

    rows = [mention(f"r{k}", forename_m=f"f{k % 4}", surname_m="smith") for k in range(80)]
    s, vt = _std(spec, rows)
    rule = BlockingRule("fs", ("fn", "sn"))
    full_a, _ = rule_pairs(rule, s, vt, 1000)
    assert len(full_a) == 2 * 4 * (20 * 19 // 2)  # recorded and order-swapped names
    a, b, total = sampled_rule_pairs(rule, s, vt, 1000, 100, np.random.default_rng(0))
    assert total == len(full_a)
    assert 0 < len(a) < len(full_a) and len(a) % 190 == 0  # whole blocks only
    fn = s["fn"].to_numpy()
    assert (fn[a] == fn[b]).all() and (a < b).all()
    a2, _, total2 = sampled_rule_pairs(rule, s, vt, 1000, 10_000, np.random.default_rng(0))
    assert total2 < 0 and len(a2) == len(full_a)  # small rules: all pairs


def test_forename_root_blocks_nicknames_and_surname_changes_at_one_postcode(spec):
    rows = [
        mention("a", forename_m="rebecca", surname_m="cook", postcode="B6 1XP", dob="2006-01-07"),
        mention("b", forename_m="becky", surname_m="cook", postcode="B6 1XP"),
        mention("c", forename_m="rebecca", surname_m="turner", postcode="B6 1XP"),
        mention("d", forename_m="paul", surname_m="cook", middle_m="rebecca", postcode="B6 1XP"),
        mention("e", forename_m="becky", surname_m="cook", postcode="B7 2AA"),
    ]
    s, vt = _std(spec, rows)
    rule = BlockingRule("pc_root", ("pc", "fn_root"))
    a, b = unique_pairs(*rule_pairs(rule, s, vt, 100), len(s))
    # d's middle name "rebecca" (a forename/middle swap variant) does not pair it up
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == {(0, 1), (0, 2), (1, 2)}


def test_a_nickname_with_a_misspelt_surname_is_paired_by_its_initials_and_birth_date(spec):
    """Spec v11 `initials_dob`: "Kate Richardson" and "Kay Richadson" of one birth date,
    one of them without an address (a hospital's second registration), share neither
    forename, surname, its sound nor a postcode; only their initials and the date."""
    rows = [
        mention(
            "a", forename_m="kate", surname_m="richardson", dob="1995-07-15", postcode="B3 4EE"
        ),
        mention("b", forename_m="kay", surname_m="richadson", dob="1995-07-15"),
        mention("c", forename_m="kay", surname_m="richadson", dob="1995-07-16"),
        mention("d", forename_m="anna", surname_m="richadson", dob="1995-07-15"),
    ]
    s, vt = _std(spec, rows)
    a, b = candidate_pairs(s, vt, spec)
    got = set(zip(a.tolist(), b.tolist(), strict=True))
    assert (0, 1) in got
    assert (0, 2) not in got and (0, 3) not in got  # another date, another initial
    rules = [r for r in spec.blocking if r.name != "initials_dob"]
    a, b = candidate_pairs(s, vt, dataclasses.replace(spec, blocking=tuple(rules)))
    assert (0, 1) not in set(zip(a.tolist(), b.tolist(), strict=True))


def _streamed(spec, pop):
    """The population's records, and a spec whose pairs also go through a one-side-missing
    rule and a block-size cap that drops some blocks (for the streamed pairs' tests)."""
    mentions, _ = pop
    s, vt = _std(spec, mentions.to_dict("records"))
    spec = dataclasses.replace(
        spec,
        blocking=(*spec.blocking, BlockingRule("fs", ("fn", "sn"), one_side_missing="dob")),
        max_block_size=6,
    )
    return s, vt, spec


def test_streamed_ranges_make_exactly_the_candidate_pairs_in_order(spec, pop):
    from cpgraph.linkage.blocking import candidate_pairs, pair_plan, range_pairs, rule_blocks

    s, vt, spec = _streamed(spec, pop)
    blocks = rule_blocks(s, vt, spec)
    for link_only in (False, True):
        i, j = candidate_pairs(s, vt, spec, link_only=link_only)
        assert len(i) > 100
        for target in (1, 97, 10**9):
            plan = pair_plan(blocks, len(s), target)
            # ranges cover every record once, in order
            assert plan[0][0] == 0 and plan[-1][1] == len(s)
            assert all(a[1] == b[0] for a, b in zip(plan, plan[1:], strict=False))
            grp = s["grp"].to_numpy() if link_only else None
            got = [range_pairs(blocks, lo, hi, len(s), grp) for lo, hi in plan]
            assert np.array_equal(np.concatenate([g[0] for g in got]), i)
            assert np.array_equal(np.concatenate([g[1] for g in got]), j)
        assert len(pair_plan(blocks, len(s), 97)) > 3


def test_a_delta_is_blocked_against_exactly_the_pairs_it_touches(spec, pop):
    from cpgraph.linkage.blocking import candidate_pairs

    mentions, _ = pop
    s, vt = _std(spec, mentions.to_dict("records"))
    i, j = candidate_pairs(s, vt, spec)
    rng = np.random.default_rng(5)
    for frac in (0.0, 0.02, 0.3):
        left = rng.random(len(s)) < frac
        a, b = candidate_pairs(s, vt, spec, left=left)
        touch = left[i] | left[j]
        assert np.array_equal(a, i[touch]) and np.array_equal(b, j[touch])
        assert (len(a) > 0) == (frac > 0)


def test_a_streamed_delta_makes_exactly_the_pairs_it_touches_each_once(spec, pop):
    from cpgraph.linkage.blocking import candidate_pairs, delta_pairs, delta_plan, rule_blocks

    s, vt, spec = _streamed(spec, pop)
    rng = np.random.default_rng(11)
    for link_only in (False, True):
        i, j = candidate_pairs(s, vt, spec, link_only=link_only)
        grp = s["grp"].to_numpy() if link_only else None
        for frac in (0.05, 0.3, 1.0):
            left = rng.random(len(s)) < frac
            delta = np.flatnonzero(left)
            blocks = rule_blocks(s, vt, spec, left=left)
            touch = left[i] | left[j]
            assert touch.sum() > 5
            for target in (1, 97, 10**9):
                plan = delta_plan(blocks, delta, target)
                assert plan[0][0] == 0 and plan[-1][1] == len(delta)
                assert all(a[1] == b[0] for a, b in zip(plan, plan[1:], strict=False))
                got = [delta_pairs(blocks, delta[lo:hi], left, len(s), grp) for lo, hi in plan]
                a = np.concatenate([g[0] for g in got])
                b = np.concatenate([g[1] for g in got])
                # each pair once across the parts (a pair of two delta records included)
                code = a * len(s) + b
                assert len(np.unique(code)) == len(code)
                order = np.argsort(code)
                assert np.array_equal(a[order], i[touch]) and np.array_equal(b[order], j[touch])
            assert len(delta_plan(blocks, delta, 97)) > 1
