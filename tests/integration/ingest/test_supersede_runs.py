"""A load's supersession knows a first run from a re-run (the start query counts the run
before the supersession is looked up)."""

from __future__ import annotations

import pytest

from cpgraph.ingest import supersede
from cpgraph.ingest.owner import this_process
from cpgraph.store import GraphStore

pytestmark = pytest.mark.integration


async def _start(store: GraphStore, load_id: str) -> None:
    await store.execute(
        "ingest_load_start",
        load_id=load_id,
        started_at="2026-12-06T00:00:00Z",
        system="wmp-niche",
        agency="police",
        organisation="West Midlands Police",
        extracted_at="2026-12-01T00:00:00Z",
        org_key="police_force:wmp-niche",
        org_type="police_force",
        owner=this_process(),
    )


async def test_first_run_is_not_a_rerun_and_the_second_is(falkordb_store: GraphStore) -> None:
    load_id = "wmp-niche@2026-12-01T00:00:00Z"
    await _start(falkordb_store, load_id)
    first = await supersede.begin(falkordb_store, load_id, "wmp-niche", "2026-12-01T00:00:00Z")
    assert first.rerun is False  # a first load tracks no address edges to prune
    await _start(falkordb_store, load_id)
    again = await supersede.begin(falkordb_store, load_id, "wmp-niche", "2026-12-01T00:00:00Z")
    assert again.rerun is True
