"""Linkage runs with the stewards' side wired in: their decisions, retraining, the queue.

Linkage sits below the steward layer, so `LinkageService` is handed these hooks rather
than importing them; build the service here (`linkage_service`) to link.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from cpgraph.config import Settings
from cpgraph.linkage.engine import LinkageEngine
from cpgraph.linkage.model import Model
from cpgraph.linkage.service import LinkageService
from cpgraph.linkage.spec import Spec
from cpgraph.steward.decisions import load_constraints
from cpgraph.steward.queue import write_queue
from cpgraph.steward.retrain import retrain_model
from cpgraph.store import GraphStore


class StewardSide:
    """The `cpgraph.linkage.service.StewardHooks` of a real run."""

    async def decisions(self, store: GraphStore) -> list[tuple[str, str, str]]:
        """The standing LINK / NO_LINK pairs (the latest decision per pair)."""
        return await load_constraints(store)

    def retrain(
        self,
        engine: LinkageEngine,
        mentions: pd.DataFrame,
        base: Model,
        labels: list[tuple[str, str, str]],
    ) -> tuple[Model, dict[str, Any]]:
        """The base model re-estimated from the stewards' labels, with its report."""
        model, report = retrain_model(engine, mentions, base, labels)
        return model, report.as_dict()

    async def write_review(
        self,
        store: GraphStore,
        review: pd.DataFrame,
        assignments: pd.DataFrame,
        mentions: pd.DataFrame,
        relationships: pd.DataFrame,
        names: Sequence[str],
        run_id: str,
        at: str,
    ) -> int:
        """Store the run's review queue (see `cpgraph.steward.queue.write_queue`); returns the
        number of candidates in it."""
        return await write_queue(
            store, review, assignments, mentions, relationships, names, run_id, at
        )


def linkage_service(
    store: GraphStore, settings: Settings, spec: Spec | None = None
) -> LinkageService:
    """A linkage service that links with the stewards' decisions and writes their queue.

    Args:
        store: a started store.
        settings: cpgraph settings.
        spec: the linkage spec (default: the packaged one).

    Returns:
        The service.
    """
    return LinkageService(store, settings, spec, steward=StewardSide())
