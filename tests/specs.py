"""The shipped linkage spec with one section's keys changed: a rule turned on or off,
a threshold moved, for tests that show what the rule does."""

from __future__ import annotations

from typing import Any

import pandas as pd

from cpgraph.linkage import LinkageEngine, load_spec
from cpgraph.linkage.spec import Spec, spec_from_dict


def spec_with(section: str, **keys: Any) -> Spec:
    """The shipped spec with ``keys`` set in ``section`` (the rest as shipped)."""
    raw = load_spec().raw
    return spec_from_dict({**raw, section: {**raw[section], **keys}})


def engine_with(section: str, **keys: Any) -> LinkageEngine:
    """An engine on :func:`spec_with`'s spec."""
    return LinkageEngine(spec_with(section, **keys))


def link_with(
    eng: LinkageEngine,
    model: Any,
    base: pd.DataFrame,
    rows: list[dict[str, Any]],
    rels: pd.DataFrame | None = None,
) -> Any:
    """Link ``base`` plus ``rows`` with ``eng`` and an already fitted ``model``."""
    df = pd.concat([base, pd.DataFrame(rows)], ignore_index=True)
    return eng.link(df, rels, model=model)
