"""Fixtures for ingest integration tests: generated extracts and graph snapshots."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cpgraph.ingest.owner import this_process
from cpgraph.store import GraphStore

VOLATILE = {"started_at", "last_started_at", "finished_at", "runs"}


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A small generated population (all agencies), written once per session."""
    from cpgraph.generate import generate  # noqa: PLC0415 — only when a test needs it

    out = tmp_path_factory.mktemp("generated") / "out"
    generate(out, 25, 20261101)
    yield out


def extract_folders(root: Path, agency: str | None = None) -> list[Path]:
    """Extract folders under a generator output (optionally of one agency)."""
    folders = []
    for p in sorted(root.iterdir()):
        if (p / "manifest.json").is_file():
            manifest = json.loads((p / "manifest.json").read_text())
            if agency is None or manifest["agency"] == agency:
                folders.append(p)
    return folders


def truth_keys(root: Path, systems: set[str]) -> set[str]:
    with (root / "truth.csv").open(newline="") as fh:
        return {
            r["record_key"] for r in csv.DictReader(fh) if r["record_key"].split(":")[0] in systems
        }


def expected_quarantine(root: Path, systems: set[str]) -> set[tuple[str, str, int]]:
    with (root / "quarantine_expected.csv").open(newline="") as fh:
        return {
            (r["system"], r["file"], int(r["line"]))
            for r in csv.DictReader(fh)
            if r["system"] in systems
        }


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


async def snapshot(store: GraphStore) -> tuple[list[Any], list[Any]]:
    """The whole graph as sorted, hashable data (load run timestamps left out)."""
    nodes = []
    for row in await store.query("ingest_snapshot_nodes"):
        props = {k: v for k, v in row["props"].items() if k not in VOLATILE}
        nodes.append((tuple(sorted(row["labels"])), _freeze(props)))
    edges = [
        (r["type"], r["source"], r["target"], _freeze(r["props"]))
        for r in await store.query("ingest_snapshot_edges")
    ]
    return sorted(nodes, key=repr), sorted(edges, key=repr)


async def start_load(store: GraphStore, load_id: str, owner: str | None = None) -> None:
    """Open a police load as `run_plan` does (`ingest_load_start`), by its load id
    (``{system}@{extracted_at}``); `owner` defaults to this process."""
    system, _, extracted_at = load_id.partition("@")
    await store.execute(
        "ingest_load_start",
        load_id=load_id,
        started_at="2026-12-06T00:00:00Z",
        system=system,
        agency="police",
        organisation="West Midlands Police",
        extracted_at=extracted_at,
        org_key=f"police_force:{system}",
        org_type="police_force",
        owner=owner or this_process(),
    )
