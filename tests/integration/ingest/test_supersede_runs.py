"""A load's supersession knows a first run from a re-run (the start query counts the run
before the supersession is looked up)."""

from __future__ import annotations

import pytest

from cpgraph.ingest import supersede
from cpgraph.store import GraphStore
from tests.integration.ingest.conftest import start_load

pytestmark = pytest.mark.integration


async def test_first_run_is_not_a_rerun_and_the_second_is(falkordb_store: GraphStore) -> None:
    load_id = "wmp-niche@2026-12-01T00:00:00Z"
    await start_load(falkordb_store, load_id)
    first = await supersede.begin(falkordb_store, load_id, "wmp-niche", "2026-12-01T00:00:00Z")
    assert first.rerun is False  # a first load tracks no address edges to prune
    await start_load(falkordb_store, load_id)
    again = await supersede.begin(falkordb_store, load_id, "wmp-niche", "2026-12-01T00:00:00Z")
    assert again.rerun is True
