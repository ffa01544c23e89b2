"""An embedded store loaded with a generated population, for the linkage integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpgraph.config import Backend, Settings
from cpgraph.ingest.engine import load_extracts
from cpgraph.store import GraphStore, create_store
from tests.factories import GeneratedPopulation, make_population


@dataclass
class Loaded:
    """A started store holding a population's extracts, with its settings."""

    store: GraphStore
    settings: Settings
    pop: GeneratedPopulation


@asynccontextmanager
async def loaded_store(
    tmp_path: Path, *, households: int, seed: int, **options: Any
) -> AsyncIterator[Loaded]:
    """A FalkorDB store under ``tmp_path/data`` with a generated population loaded;
    closed (its server stopped) on leaving. ``options``: more settings (``batch_size``)."""
    pop = make_population(tmp_path / "extracts", households=households, seed=seed)
    settings = Settings(
        backend=Backend.FALKORDB, data_dir=tmp_path / "data", falkordb_url=None, **options
    )
    store = create_store(settings)
    await store.start()
    try:
        await store.bootstrap()
        await load_extracts(store, pop.extracts())
        yield Loaded(store, settings, pop)
    finally:
        await store.close()
