"""EM recovers known m/u; weights and term-frequency adjustment behave."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpgraph.errors import LinkageError
from cpgraph.linkage import model as model_mod
from cpgraph.linkage.comparisons import PairLevels
from cpgraph.linkage.model import ComparisonParams, Model, em, probability, session_em


def simulate(n: int, lam: float, m: list[np.ndarray], u: list[np.ndarray], seed: int = 0):
    rng = np.random.default_rng(seed)
    match = rng.random(n) < lam
    cols = []
    for mk, uk in zip(m, u, strict=True):
        a = rng.choice(len(mk), size=n, p=mk)
        b = rng.choice(len(uk), size=n, p=uk)
        cols.append(np.where(match, a, b))
    return np.stack(cols, axis=1).astype(np.int8)


def test_em_recovers_known_m_and_lambda():
    m_true = [
        np.array([0.85, 0.1, 0.05]),
        np.array([0.9, 0.1]),
        np.array([0.7, 0.2, 0.1]),
        np.array([0.95, 0.05]),
    ]
    u_true = [
        np.array([0.01, 0.04, 0.95]),
        np.array([0.05, 0.95]),
        np.array([0.02, 0.1, 0.88]),
        np.array([0.3, 0.7]),
    ]
    lv = simulate(60_000, 0.2, m_true, u_true)
    m0 = [np.full(len(x), 1 / len(x)) + np.eye(len(x))[0] * 0.3 for x in m_true]
    m0 = [x / x.sum() for x in m0]
    k = len(m_true)
    m, lam, _ = em(
        lv, m0, u_true, 0.5, np.ones(k, bool), np.zeros(k, bool), max_iter=200, tol=1e-7, min_m=1e-4
    )
    assert abs(lam - 0.2) < 0.01
    for got, want in zip(m, m_true, strict=True):
        np.testing.assert_allclose(got, want, atol=0.02)


def _session_inputs():
    m_true = [np.array([0.9, 0.1]), np.array([0.8, 0.2])]
    u_true = [np.array([0.05, 0.95]), np.array([0.1, 0.9])]
    lv = simulate(5000, 0.05, m_true, u_true, seed=2)
    m0 = [np.array([0.6, 0.4]), np.array([0.6, 0.4])]
    return lv, m0, u_true, np.ones(2, bool), np.zeros(2, bool)


def test_a_degenerate_session_is_restarted_from_a_low_lambda(spec, monkeypatch):
    lv, m0, u, active, fixed = _session_inputs()
    starts = []
    real = model_mod.em

    def em_spy(levels, m, u_, lam0, *args, **kw):
        starts.append(lam0)
        if len(starts) == 1:  # the first run drifts to "every pair is a match"
            return [x.copy() for x in m], 0.9995, spec.em_max_iter
        return real(levels, m, u_, lam0, *args, **kw)

    monkeypatch.setattr(model_mod, "em", em_spy)
    m, lam, iters, restarted = session_em(lv, m0, u, active, fixed, spec, ("fn", "sn"))
    assert restarted and starts == [model_mod.EM_START, model_mod.EM_RESTART]
    assert abs(lam - 0.05) < 0.02 and 0 < iters <= spec.em_max_iter
    # the match class (true m 0.9), not the block's own level frequencies (0.09)
    assert m[0][0] > 0.5


def test_a_healthy_session_is_not_restarted(spec):
    lv, m0, u, active, fixed = _session_inputs()
    _, lam, _, restarted = session_em(lv, m0, u, active, fixed, spec)
    assert not restarted and lam < 0.5


def test_a_session_degenerate_from_both_starts_is_an_error(spec, monkeypatch):
    lv, m0, u, active, fixed = _session_inputs()

    def stuck(levels, m, *args, **kw):
        return [x.copy() for x in m], 0.9999, spec.em_max_iter

    monkeypatch.setattr(model_mod, "em", stuck)
    with pytest.raises(LinkageError, match="fn\\+sn did not converge"):
        session_em(lv, m0, u, active, fixed, spec, ("fn", "sn"))


def test_em_respects_fixed_and_inactive():
    m_true = [np.array([0.9, 0.1]), np.array([0.8, 0.2])]
    u_true = [np.array([0.05, 0.95]), np.array([0.1, 0.9])]
    lv = simulate(5000, 0.3, m_true, u_true, seed=1)
    fixed_m = np.array([0.999, 0.001])
    m, _, _ = em(
        lv,
        [fixed_m, np.array([0.5, 0.5])],
        u_true,
        0.5,
        np.array([True, True]),
        np.array([True, False]),
    )
    np.testing.assert_array_equal(m[0], fixed_m)
    m2, _, _ = em(
        lv,
        [np.array([0.5, 0.5]), np.array([0.5, 0.5])],
        u_true,
        0.5,
        np.array([False, True]),
        np.array([False, False]),
    )
    np.testing.assert_array_equal(m2[0], [0.5, 0.5])


def _model() -> Model:
    p = ComparisonParams(
        name="surname",
        labels=["exact", "else"],
        m=[0.9, 0.1],
        u=[0.01, 0.99],
        tf={"smith": 0.05, "oyelaran": 0.0001},
        tf_floor=1e-6,
    )
    return Model(spec_version="1", prior=0.001, params=[p])


def test_weights_by_hand():
    model = _model()
    pl = PairLevels(
        i=np.array([0, 0]),
        j=np.array([1, 2]),
        levels=np.array([[1], [-1]], np.int8),
        tf_values={"surname": np.array([None, None], dtype=object)},
    )
    total, w = model.score(pl)
    assert w[0, 0] == np.log2(0.1 / 0.99)  # disagreement
    assert w[1, 0] == 0.0  # missing
    assert total[1] == model.prior_weight


def test_tf_adjustment_rare_name_counts_more():
    model = _model()
    pl = PairLevels(
        i=np.array([0, 0]),
        j=np.array([1, 2]),
        levels=np.array([[0], [0]], np.int8),
        tf_values={"surname": np.array(["smith", "oyelaran"], dtype=object)},
    )
    _, w = model.score(pl)
    assert w[1, 0] > w[0, 0] + 5  # a match on Oyelaran outweighs one on Smith
    # adjusted weight is log2(m / tf(value))
    assert abs(w[0, 0] - np.log2(0.9 / 0.05)) < 1e-9


def test_model_round_trips_through_dict():
    model = _model()
    again = Model.from_dict(model.to_dict())
    assert again.prior == model.prior and again.params[0].tf == model.params[0].tf


def test_fitted_model_is_sane(fitted):
    model = fitted.model
    fn = next(p for p in model.params if p.name == "forename")
    # agreement is far likelier among matches than among random pairs
    assert fn.m[0] > 0.5 and fn.u[0] < 0.2
    assert 0 < model.prior < 0.01
    nhs = next(p for p in model.params if p.name == "nhs_number")
    assert nhs.fixed and nhs.m == [0.995, 0.005]
    assert float(probability(np.array([0.0]))[0]) == 0.5


def test_fitted_engine_links_population(fitted, pop):
    from cpgraph.linkage import evaluate

    df, truth = pop
    res = fitted.link(df, model=fitted.model)
    pred = pd.Series(res.assignments["person_id"].to_numpy(), index=res.assignments["key"])
    ev = evaluate(pred, truth)
    assert ev.precision > 0.97 and ev.recall > 0.9
