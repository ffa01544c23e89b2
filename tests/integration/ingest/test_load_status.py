"""Recorded loads as `cpgraph loads` lists them: a load killed outright shows
interrupted, not running for ever; counts come from the load's own record."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from cpgraph.ingest import list_loads, load_extracts
from cpgraph.ingest.owner import INTERRUPTED, this_process
from cpgraph.store import GraphStore
from tests.integration.ingest.conftest import extract_folders, start_load

pytestmark = pytest.mark.integration


async def test_a_load_whose_process_died_is_interrupted(falkordb_store: GraphStore) -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    await start_load(
        falkordb_store, "wmp-niche@2026-12-01T00:00:00Z", f"{socket.gethostname()}:{child.pid}:1"
    )
    await start_load(falkordb_store, "wmp-niche@2026-12-02T00:00:00Z", this_process())
    status = {r["load_id"]: r["status"] for r in await list_loads(falkordb_store)}
    assert status == {
        "wmp-niche@2026-12-01T00:00:00Z": INTERRUPTED,
        "wmp-niche@2026-12-02T00:00:00Z": "running",
    }


async def test_completed_loads_list_their_counts(
    falkordb_store: GraphStore, generated: Path
) -> None:
    reports = await load_extracts(falkordb_store, extract_folders(generated, "police"))
    rows = {r["load_id"]: r for r in await list_loads(falkordb_store)}
    assert reports and set(rows) == {r.load_id for r in reports}
    for report in reports:
        row = rows[report.load_id]
        assert row["status"] == "completed" and "owner" not in row
        assert (row["rows_read"], row["rows_loaded"], row["rows_quarantined"]) == (
            report.rows_read,
            report.rows_loaded,
            report.rows_quarantined,
        )
