"""Fixtures for steward tests: a generated population, loaded and linked in a real
embedded FalkorDB (never a mock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from steward_helpers import Linked, linked_population

from tests.factories import GeneratedPopulation, make_population


@pytest.fixture(scope="session")
def population(tmp_path_factory: pytest.TempPathFactory) -> GeneratedPopulation:
    """40 households with 5% corrupted rows: enough for a few review candidates."""
    return make_population(
        tmp_path_factory.mktemp("steward-pop"), households=40, seed=3, error_rate=0.05
    )


@pytest.fixture
async def linked(tmp_path: Path, population: GeneratedPopulation) -> AsyncIterator[Linked]:
    """The population loaded and linked (full) into a fresh embedded store."""
    async with linked_population(tmp_path / "data", population) as graph:
        yield graph
