"""Helpers for steward tests (the fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cpgraph.config import Backend, Settings
from cpgraph.ingest.engine import load_extracts
from cpgraph.linkage.service import LinkageService
from cpgraph.linkage.spec import Spec
from cpgraph.security.roles import Role
from cpgraph.steward import Actor, StewardService
from cpgraph.steward.linking import linkage_service
from cpgraph.store import GraphStore, create_store
from tests.factories import GeneratedPopulation

STEWARD = Actor("steward-one", Role.DATA_STEWARD)
OTHER_STEWARD = Actor("steward-two", Role.DATA_STEWARD)


@dataclass
class Linked:
    """A linked graph and the services over it."""

    store: GraphStore
    settings: Settings
    linkage: LinkageService
    steward: StewardService
    population: GeneratedPopulation

    async def persons(self) -> dict[str, str]:
        """record key -> person id, as the graph says now."""
        frame = await self.linkage.assignments()
        frame = frame.dropna(subset=["person_id"])
        return dict(zip(frame["record_key"], frame["person_id"], strict=True))


@asynccontextmanager
async def linked_population(
    data_dir: Path, population: GeneratedPopulation, spec: Spec | None = None
) -> AsyncIterator[Linked]:
    """``population`` loaded and linked (full) into a fresh embedded store at ``data_dir``.

    Args:
        data_dir: the store's data directory (created).
        population: the generated extracts.
        spec: a linkage spec (default: the shipped one).

    Yields:
        The linked graph and its services; the store stops on exit.
    """
    settings = Settings(backend=Backend.FALKORDB, data_dir=data_dir, falkordb_url=None)
    store = create_store(settings)
    await store.start()
    try:
        await store.bootstrap()
        await load_extracts(store, population.extracts())
        linkage = linkage_service(store, settings, spec=spec)
        await linkage.link(full=True)
        yield Linked(store, settings, linkage, StewardService(store), population)
    finally:
        await store.close()


def partition(assign: dict[str, str]) -> set[frozenset[str]]:
    """The clusters, ignoring ids."""
    groups: dict[str, set[str]] = {}
    for key, pid in assign.items():
        groups.setdefault(pid, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def multi_record_person(assign: dict[str, str], size: int = 2) -> tuple[str, list[str]]:
    """A person with at least `size` records (smallest id first)."""
    frame = pd.Series(assign).groupby(lambda k: assign[k]).apply(lambda s: sorted(s.index))
    for pid, keys in sorted(frame.items()):
        if len(keys) >= size:
            return str(pid), list(keys)
    raise AssertionError("no person with that many records")
