"""Scoped clustering (issue #16 item 2): the region a delta reaches, its check, the fall-back.

An incremental run re-clusters only the records a delta can reach and keeps the persons
of the rest; its result must be the one a full clustering of the same edges gives.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cpgraph.linkage import scope
from cpgraph.linkage.statefile import load_state, save_state
from tests.unit.linkage.conftest import mention


def _region(n, seeds, edges=(), pc=None, ini=None, rel_ends=(), share=1.0):
    e = np.asarray(edges, np.int64).reshape(-1, 2)
    s = np.zeros(n, bool)
    s[list(seeds)] = True
    ends = np.zeros(n, bool)
    ends[list(rel_ends)] = True
    pc = np.full(n, -1, np.int64) if pc is None else np.asarray(pc, np.int64)
    ini = np.full(n, -1, np.int64) if ini is None else np.asarray(ini, np.int64)
    return scope.region(n, s, e[:, 0], e[:, 1], pc, ini, ends, max_share=share)


def test_region_is_the_seeds_components_and_nothing_else():
    # 0-1-2 linked, 3-4 linked, 5 alone: a seed at 1 reaches 0..2 only
    reg = _region(6, [1], [(0, 1), (1, 2), (3, 4)])
    assert reg.ok and np.flatnonzero(reg.mask).tolist() == [0, 1, 2]
    # (a cannot-link is no interaction: two records it names stay apart)
    assert _region(6, [5], [(0, 1), (3, 4)]).mask.tolist() == [False] * 5 + [True]


def test_region_takes_in_the_household_pairs_a_relative_could_form():
    # record 0 (seed) at postcode 7 is related to 1 (no postcode, initials 3); record 2
    # at postcode 7 has initials 3: a relationship round could pair 1 with 2. Record 3 at
    # postcode 7 has other initials, record 4 the initials at another postcode: neither.
    pc = [7, -1, 7, 7, 8]
    ini = [1, 3, 3, 2, 3]
    reg = _region(5, [0], [(0, 1)], pc=pc, ini=ini, rel_ends=[0, 1])
    assert np.flatnonzero(reg.mask).tolist() == [0, 1, 2]
    # and 2's own component comes with it (household pairs chain through components)
    reg = _region(6, [0], [(0, 1), (2, 5)], pc=pc + [9], ini=ini + [5], rel_ends=[0, 1])
    assert np.flatnonzero(reg.mask).tolist() == [0, 1, 2, 5]
    # without the relationship, 1 is not a relative: nothing beyond the links
    assert np.flatnonzero(_region(5, [0], [(0, 1)], pc=pc, ini=ini).mask).tolist() == [0, 1]


def _closure(n, seeds, edges, pc, ini, rel_ends):
    """The region by its definition, record by record (a union-find to a fixed point)."""
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent[find(a)] = find(b)
    while True:
        inside = {find(s) for s in seeds}
        grew = False
        for r in range(n):
            if not rel_ends[r] or ini[r] < 0 or find(r) not in inside:
                continue
            homes = {pc[x] for x in range(n) if find(x) == find(r) and pc[x] >= 0}
            for y in range(n):
                if pc[y] in homes and ini[y] == ini[r] and find(y) != find(r):
                    parent[find(y)] = find(r)
                    grew = True
        if not grew:
            return [x for x in range(n) if find(x) in {find(s) for s in seeds}]


def test_household_closure_matches_its_definition_on_random_graphs():
    # a component's relatives against its postcodes grew with the square of a large
    # component (a 1% delta at 1.29M mentions ran out of memory): the join is now made
    # from the postcodes' records, with one relative per (component, initials)
    rng = np.random.default_rng(3)
    grew = 0
    for _ in range(60):
        n = int(rng.integers(8, 40))
        edges = rng.integers(0, n, (int(rng.integers(0, n)), 2)).tolist()
        pc = rng.integers(-1, 6, n).tolist()
        ini = rng.integers(-1, 4, n).tolist()
        ends = (rng.random(n) < 0.5).tolist()
        seeds = sorted(set(rng.integers(0, n, int(rng.integers(1, 3))).tolist()))
        got = _region(n, seeds, edges, pc=pc, ini=ini, rel_ends=np.flatnonzero(ends))
        want = _closure(n, seeds, edges, pc, ini, ends)
        assert np.flatnonzero(got.mask).tolist() == want
        grew += got.rounds > 1
    assert grew > 10  # (the household closure did take records in)


def test_region_gives_up_when_it_is_most_of_the_records():
    reg = _region(10, [0], [(k, k + 1) for k in range(6)], share=0.5)
    assert not reg.ok and reg.reason == "region too large"
    assert _region(10, range(6), share=0.5).reason == "delta too large"


def test_partition_mismatch_flags_records_whose_person_changed():
    old = np.array([0, 0, 2, 2, 4, -1])
    now = np.array([7, 7, 7, 8, 9, 5])  # 2 joined 0's person, 3 left it, 5 is new
    assert scope.partition_mismatch(old, now).tolist() == [True, True, True, True, False, True]


def test_value_hashes_tie_equal_values_only():
    h = scope.value_hashes(np.array(["B1 1AA", None, "B1 1AA", "B2 2BB"], object))
    assert h[0] == h[2] and h[0] != h[3] and h[1] == 0 and (h[[0, 3]] != 0).all()


@pytest.fixture(scope="module")
def delta(fitted, pop):
    """A first run over most of the population, then 1% moved and a few new mentions."""
    df, _ = pop
    old = df.iloc[:-6].reset_index(drop=True)
    first = fitted.link(old, model=fitted.model)
    prev = dict(zip(first.assignments["key"], first.assignments["person_id"], strict=True))
    new = df.copy()
    for k in (3, 40, 41, 200):
        new.loc[k, "postcode"] = new.loc[k + 100, "postcode"]
    extra = pd.DataFrame(
        [mention("s9:x:new", system="s9", forename_m="zofia", surname_m="nowak", dob="1990-01-02")]
    )
    # a known person's new record without an address: it reaches the person's others
    twice = old["key"].str.endswith("-1")
    again = old[old["key"] == old.loc[twice, "key"].iloc[0].replace("-1", "-0")].copy()
    again["key"], again["system"], again["postcode"] = "s8:x:again", "s8", None
    new = pd.concat([new, extra, again], ignore_index=True)
    full = fitted.link(new, model=fitted.model, previous_ids=prev, full=True)
    return first, prev, new, full


def _same(a, b):
    cols = ["key", "person_id", "method", "probability", "status"]
    pd.testing.assert_frame_equal(a.assignments[cols], b.assignments[cols])
    rv = ["key_a", "key_b", "probability", "reason"]
    ra = a.review[rv].sort_values(["key_a", "key_b"], ignore_index=True)
    rb = b.review[rv].sort_values(["key_a", "key_b"], ignore_index=True)
    pd.testing.assert_frame_equal(ra, rb)
    assert a.retired_ids == b.retired_ids


def test_a_scoped_run_equals_a_full_clustering_and_keeps_the_rest(fitted, delta, tmp_path):
    first, prev, new, full = delta
    # (the scope survives the state file)
    path = tmp_path / "state.npz"
    save_state(path, first.state, fitted.spec.version)
    state = load_state(path, fitted.spec.version)
    assert state is not None and state.scope is not None
    assert set(state.scope) == set(first.state.scope)
    inc = fitted.link(new, model=fitted.model, previous_ids=prev, state=state)
    assert inc.summary["scoped"], inc.summary["scope_fallback"]
    assert 0 < inc.summary["region"] < len(new) / 2
    _same(inc, full)
    # persons the delta did not reach keep their ids
    a = inc.assignments.set_index("key")["person_id"]
    moved = [k for k in prev if a[k] != prev[k]]
    assert len(moved) <= inc.summary["region"]


def test_without_a_scope_the_run_clusters_everything(fitted, delta):
    first, prev, new, full = delta
    state = dataclasses.replace(first.state, scope=None)
    inc = fitted.link(new, model=fitted.model, previous_ids=prev, state=state)
    assert not inc.summary["scoped"] and inc.summary["scope_fallback"] == "no scope state"
    assert inc.summary["region"] == len(new)
    _same(inc, full)


@pytest.mark.parametrize("forgot", ["a seed", "a linked record"])
def test_a_region_that_is_not_closed_falls_back_to_full_clustering(
    fitted, delta, monkeypatch, forgot
):
    first, prev, new, full = delta
    closure = scope.region

    def leaky(n, seeds, ei, ej, *args, **kw):
        # the closure less one record: a seed, or a record linked to another in the
        # region (forgotten by the seeds too: only the links can tell)
        mask = closure(n, seeds, ei, ej, *args, **kw).mask.copy()
        if forgot == "a seed":
            mask[np.flatnonzero(seeds)[0]] = False
        else:
            k = np.flatnonzero(mask[ei] & mask[ej] & (ei != ej))[0]
            mask[ej[k]] = seeds[ej[k]] = False
        return scope.Region(mask)

    monkeypatch.setattr(scope, "region", leaky)
    inc = fitted.link(new, model=fitted.model, previous_ids=prev, state=first.state)
    assert not inc.summary["scoped"] and inc.summary["scope_fallback"] == "region not closed"
    _same(inc, full)


def test_a_steward_decision_since_the_last_run_is_in_the_region(fitted, delta):
    first, prev, new, full = delta
    a = first.assignments
    persons = a.groupby("person_id")["key"].apply(list)
    pair = next(v for v in persons if len(v) >= 2)[:2]
    steward = [(pair[0], pair[1], "NO_LINK")]
    ref = fitted.link(new, model=fitted.model, previous_ids=prev, full=True, steward=steward)
    inc = fitted.link(
        new, model=fitted.model, previous_ids=prev, state=first.state, steward=steward
    )
    assert inc.summary["scoped"]
    _same(inc, ref)
    got = inc.assignments.set_index("key")["person_id"]
    assert got[pair[0]] != got[pair[1]]


def test_household_closure_joins_about_the_records_it_reads(merged_rows):
    # one large component (400 records, each at its own postcode, every one a relative
    # with the same initials): its relatives against its postcodes were 160,000 rows
    n = 800
    edges = [(k, k + 1) for k in range(399)]
    pc = list(range(400)) + list(range(400))  # 400..799 share the component's postcodes
    ini = [1] * 400 + [1] * 200 + [2] * 200
    merged = merged_rows
    reg = _region(n, [0], edges, pc=pc, ini=ini, rel_ends=range(400))
    assert np.flatnonzero(reg.mask).tolist() == list(range(600))
    assert merged and max(merged) <= 2 * n, merged  # (the join was watched)
