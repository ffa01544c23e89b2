"""Explainable safeguarding flags, computed after linkage (rules, not scores)."""

from __future__ import annotations

from cpgraph.flags.engine import FlagEngine, evaluate
from cpgraph.flags.model import EventFact, Flag, FlagInput, Hop, Involvement, Relationship, Rules
from cpgraph.flags.service import FlagsReport, compute_flags

__all__ = [
    "EventFact",
    "Flag",
    "FlagEngine",
    "FlagInput",
    "FlagsReport",
    "Hop",
    "Involvement",
    "Relationship",
    "Rules",
    "compute_flags",
    "evaluate",
]
