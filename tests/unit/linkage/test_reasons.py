"""The catalogue of reasons a pair is kept apart (`cpgraph.linkage.reasons`)."""

from __future__ import annotations

import numpy as np

from cpgraph.linkage import engine, reasons
from cpgraph.linkage.reasons import KEPT_APART_REASONS
from cpgraph.linkage.spec import REVIEWABLE_GUARDS, load_spec


def test_every_reviewable_guard_and_engine_reason_is_described() -> None:
    # a guard the spec may name without a description would reach a steward as a bare code
    assert set(REVIEWABLE_GUARDS) <= set(KEPT_APART_REASONS)
    assert set(load_spec().guard_reviewable) <= set(KEPT_APART_REASONS)
    for code in (engine.REVIEW_UNCERTAIN, engine.REVIEW_WITHIN_INDEX, reasons.CONFLICTING,
                 reasons.AMBIGUOUS_NAME_ONLY, reasons.AMBIGUOUS_RECORD,
                 reasons.DIFFERENT_ADDRESSES):  # fmt: skip
        assert code in KEPT_APART_REASONS
    for code, text in KEPT_APART_REASONS.items():
        assert code == code.strip().lower() and " " not in code
        assert text.strip() and "\n" not in text and len(text) <= 240


def test_the_engines_kept_apart_reasons_are_catalogue_codes() -> None:
    # _kept_apart_reasons names pairs at `auto` that clustering did not join
    class Prep:
        weak = np.array([True, False, False, False])
        ambiguous = np.array([False, False, True, False])
        places = None

    labels = np.array([0, 1, 2, 3])
    got = engine._kept_apart_reasons(labels, np.array([0, 2, 1]), np.array([1, 3, 3]), Prep())
    assert got == [reasons.AMBIGUOUS_NAME_ONLY, reasons.AMBIGUOUS_RECORD, reasons.CONFLICTING]
    assert set(got) <= set(KEPT_APART_REASONS)
