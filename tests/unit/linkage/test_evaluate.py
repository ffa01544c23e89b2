"""Evaluation maths against brute force on small cases."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from cpgraph.linkage.evaluate import evaluate


def brute(pred: dict, truth: dict):
    keys = list(truth)
    tp = pp = tt = 0
    for a, b in itertools.combinations(keys, 2):
        p = pred.get(a, "s" + a) == pred.get(b, "s" + b)
        t = truth[a] == truth[b]
        tp += p and t
        pp += p
        tt += t
    bp = br = 0.0
    for k in keys:
        pc = {x for x in keys if pred.get(x, "s" + x) == pred.get(k, "s" + k)}
        tc = {x for x in keys if truth[x] == truth[k]}
        bp += len(pc & tc) / len(pc)
        br += len(pc & tc) / len(tc)
    return tp, pp, tt, bp / len(keys), br / len(keys)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=14))
def test_contingency_equals_brute_force(labels):
    truth = {f"k{i}": f"t{t}" for i, (t, _) in enumerate(labels)}
    pred = {f"k{i}": f"p{p}" for i, (_, p) in enumerate(labels)}
    ev = evaluate(pred, truth)
    tp, pp, tt, bp, br = brute(pred, truth)
    assert (ev.true_positive_pairs, ev.predicted_pairs, ev.true_pairs) == (tp, pp, tt)
    assert abs(ev.bcubed_precision - bp) < 1e-12 and abs(ev.bcubed_recall - br) < 1e-12


def test_known_case_and_hard_negatives():
    truth = {"a": "1", "b": "1", "c": "2", "d": "3"}
    pred = {"a": "X", "b": "Y", "c": "Y", "d": "Y"}  # d missing → singleton would be better
    ev = evaluate(pred, truth, [("b", "c", "twin"), ("a", "d", "jr_sr")])
    assert ev.true_pairs == 1 and ev.predicted_pairs == 3 and ev.true_positive_pairs == 0
    assert ev.precision == 0 and ev.recall == 0 and ev.f1 == 0
    assert ev.hard_negative_merges == 1 and ev.hard_negative_merges_by_kind == {
        "twin": 1,
        "jr_sr": 0,
    }


def test_missing_keys_are_singletons():
    ev = evaluate({"a": "X"}, {"a": "1", "b": "1"})
    assert ev.recall == 0.0 and ev.precision == 1.0
