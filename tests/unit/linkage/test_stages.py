"""The linkage run's stages, each on its own (see LinkageEngine.link)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cpgraph.linkage import LinkageEngine
from cpgraph.linkage.clustering import PRIORITY_STEWARD

from .conftest import mention


@pytest.fixture(scope="module")
def engine(spec, fitted):
    eng = LinkageEngine(spec)
    eng.model = fitted.model
    return eng


@pytest.fixture(scope="module")
def prepared(engine, pop):
    return engine._prepare_stage(pop[0], None, engine.model, {})


def test_prepare_keeps_a_given_model_and_fingerprints_every_mention(engine, pop, prepared):
    assert prepared.model is engine.model and prepared.training is None
    assert prepared.fingerprints.index.tolist() == pop[0]["key"].tolist()
    # a fingerprint is what the mention says: saying something else changes it
    other = pop[0].copy()
    other.loc[3, "postcode"] = "ZZ9 9ZZ"
    again = engine._prepare_stage(other, None, engine.model, {}).fingerprints
    assert (again != prepared.fingerprints).tolist() == [k == 3 for k in range(len(other))]
    timings: dict[str, float] = {}
    trained = LinkageEngine(engine.spec)._prepare_stage(pop[0], None, None, timings)
    assert trained.model is not None and {"standardise", "fit"} <= set(timings)


def test_score_compares_only_pairs_touching_changes(engine, pop, prepared):
    full = engine._score_stage(prepared, None, {})
    assert full.changed.all() and full.compared > 0 and len(full.base.i)
    state = engine.link(pop[0], model=engine.model).state
    again = engine._score_stage(prepared, state, {})
    assert not again.changed.any() and again.compared == 0
    # the stored edges come back as they were scored
    assert len(again.base.i) == len(state.edges)
    assert state.cannot is not None and len(again.cannot) == len(state.cannot) > 0
    np.testing.assert_array_equal(again.cannot.i, full.cannot.i)
    np.testing.assert_array_equal(again.cannot.weight, full.cannot.weight)
    # one mention with pairs changes its postcode: only its pairs are compared again
    changed = pop[0].copy()
    k = int(changed.index[changed["key"] == state.edges["key_a"].iloc[0]][0])
    changed.loc[k, "postcode"] = "ZZ9 9ZZ"
    prep2 = engine._prepare_stage(changed, None, engine.model, {})
    part = engine._score_stage(prep2, state, {})
    assert part.changed.sum() == 1 and 0 < part.compared < full.compared


def test_steward_links_always_win_and_no_links_are_cannot_links(engine, pop, prepared):
    keys = pop[0]["key"].tolist()
    scorer = engine._score_stage(prepared, None, {}).scorer
    got = engine._steward_stage(
        [(keys[0], keys[5], "LINK"), (keys[1], keys[2], "NO_LINK"), ("nope", keys[3], "LINK")],
        prepared.prep,
        scorer,
    )
    assert got.links.i.tolist() == [0] and got.links.j.tolist() == [5]
    assert got.links.prob.tolist() == [1.0]
    assert got.links.priority.tolist() == [PRIORITY_STEWARD]
    assert got.cannot.tolist() == [[1, 2]]


def test_cluster_and_cohesion_resolve_the_population(engine, pop, prepared):
    scored = engine._score_stage(prepared, None, {})
    decisions = engine._steward_stage([], prepared.prep, scored.scorer)
    clustered = engine._cluster_stage(prepared.prep, scored, decisions)
    labels, n_split = engine._cohesion_stage(prepared.prep, scored, decisions, clustered)
    truth = pop[1]
    keys = prepared.prep.s["key"].to_numpy(object)
    true = np.array([truth[k] for k in keys])
    # nearly every predicted cluster holds one true person (precision)
    frame = pd.DataFrame({"label": labels, "true": true})
    mixed = (frame.groupby("label")["true"].nunique() > 1).sum()
    assert mixed <= 0.01 * frame["label"].nunique()
    assert n_split >= 0 and labels.min() == 0  # canonical: smallest position first


def test_a_steward_no_link_splits_what_the_model_would_join(engine, pop, prepared):
    scored = engine._score_stage(prepared, None, {})
    none = engine._steward_stage([], prepared.prep, scored.scorer)
    clustered = engine._cluster_stage(prepared.prep, scored, none)
    labels = clustered.labels
    # a pair the model put together
    a = next(x for x in range(len(labels)) if (labels == labels[x]).sum() == 2)
    b = int(np.flatnonzero(labels == labels[a])[np.flatnonzero(labels == labels[a]) != a][0])
    keys = prepared.prep.s["key"].tolist()
    apart = engine._steward_stage([(keys[a], keys[b], "NO_LINK")], prepared.prep, scored.scorer)
    again = engine._cluster_stage(prepared.prep, scored, apart)
    assert again.labels[a] != again.labels[b]


def test_the_clusterer_gates_a_namesake_elsewhere(engine, fitted, pop):
    who = dict(forename_m="ingrid", surname_m="lukasik", dob="1985-03-04", sex="F")
    rows = [
        mention("cs:x", system="cs", kind="person", postcode="B15 2TT", **who),
        mention("pol:x", system="pol", kind="nominal", postcode="CV1 9ZZ", **who),
    ]
    df = pd.concat([pop[0], pd.DataFrame(rows)], ignore_index=True)
    prepared = engine._prepare_stage(df, None, fitted.model, {})
    scored = engine._score_stage(prepared, None, {})
    decisions = engine._steward_stage([], prepared.prep, scored.scorer)
    labels = engine._cluster_stage(prepared.prep, scored, decisions).labels
    pos = prepared.prep.pos
    assert labels[pos["cs:x"]] != labels[pos["pol:x"]]
    # a steward's LINK is never gated
    linked = engine._steward_stage([("cs:x", "pol:x", "LINK")], prepared.prep, scored.scorer)
    labels = engine._cluster_stage(prepared.prep, scored, linked).labels
    assert labels[pos["cs:x"]] == labels[pos["pol:x"]]


def test_cannot_links_kept_compact_decide_as_full_edges(spec, pop, monkeypatch):
    """Scored cannot-links held apart in 16 bytes each (``CannotLinks``) decide every
    stage exactly as they did as full edges: persons, review queue, breakdowns, counts."""
    import cpgraph.linkage.engine as engine_mod

    mentions = pop[0]
    compact = LinkageEngine(spec).link(mentions)
    assert compact.state.cannot is not None and len(compact.state.cannot) > 0
    # none left among the full edges but those a reviewable guard keeps for review
    edges = compact.state.edges
    assert not (edges["cannot"] & (edges["kept"] == 0)).any()
    monkeypatch.setattr(engine_mod, "split_cannot", lambda e: (e, engine_mod.CannotLinks.empty()))
    full = LinkageEngine(spec).link(mentions, model=compact.model)
    assert full.state.edges["cannot"].sum() == len(compact.state.cannot)
    pd.testing.assert_frame_equal(compact.assignments, full.assignments)
    pd.testing.assert_frame_equal(compact.review, full.review)
    assert compact.summary == full.summary


def test_split_cannot_keeps_the_other_edges_in_order():
    from cpgraph.linkage.stages import Edges, split_cannot

    n, nc = 7, 2
    e = Edges(
        np.arange(n, dtype=np.int64),
        np.arange(n, dtype=np.int64) + 10,
        np.linspace(-3.0, 3.0, n),
        np.linspace(0.0, 1.0, n),
        np.array(["probabilistic"] * n, dtype=object),
        np.array([2, 2, 1, 2, 2, 2, 2], np.int64),
        np.array([True, False, False, True, False, True, False]),
        np.zeros((n, nc), np.int8),
        np.zeros((n, nc), np.float32),
        np.zeros(n, np.int8),
    )
    rest, cl = split_cannot(e)
    assert rest.i.tolist() == [1, 2, 4, 6]
    assert cl.i.tolist() == [0, 3, 5] and cl.j.tolist() == [10, 13, 15]
    assert cl.i.dtype == np.int32 and cl.weight.tolist() == e.weight[[0, 3, 5]].tolist()
    # a pair a reviewable guard keeps apart stays a full edge: it is a possible match
    e.kept[3] = 1
    rest, cl = split_cannot(e)
    assert rest.i.tolist() == [1, 2, 3, 4, 6] and cl.i.tolist() == [0, 5]


def test_equal_edges_share_one_breakdown_with_the_values_each_would_have(spec, pop):
    df, _ = pop
    engine = LinkageEngine(spec)
    res = engine.link(df)
    bds = [b for b in res.assignments["breakdown"].tolist() if b is not None]
    # one dict per distinct breakdown (best edges repeat another's levels and weights)
    distinct = {json.dumps(b, sort_keys=True) for b in bds}
    assert len(distinct) < len(bds)
    assert len({id(b) for b in bds}) == len(distinct)
    # each breakdown is the one its edge alone would get
    edges = engine._edges_from_frame(res.state.edges, pd.Series(range(len(df)), index=df["key"]))
    every = engine._bds(edges, np.arange(len(edges.i)))
    for k in range(0, len(edges.i), 97):
        assert engine._bds(edges, np.array([k]))[0] == every[k]
