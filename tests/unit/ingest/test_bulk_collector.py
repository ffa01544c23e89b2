"""The bulk load's in-memory collector gives its memory back when told to."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from cpgraph.ingest import load_extracts
from cpgraph.ingest.bulk import BulkCollector
from cpgraph.store.registry import QueryRegistry
from tests.factories import make_population


@pytest.fixture
def no_gc() -> Iterator[None]:
    """The cyclic collector paused, as a bulk load pauses it."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


async def _collected(tmp_path: Path) -> BulkCollector:
    """A collector that has taken a small generated population."""
    pop = make_population(tmp_path / "pop", households=8, seed=5)
    collector = BulkCollector(QueryRegistry("falkordb"), 500)
    await load_extracts(collector, pop.extracts())
    return collector


async def test_a_discarded_collector_is_freed_without_the_cyclic_collector(
    tmp_path: Path, no_gc: None
) -> None:
    collector = await _collected(tmp_path)
    assert collector.records and collector.events
    graph = collector.graph()
    assert graph.node_count > 0
    # without `discard` the collector outlives its last name (its write table's bound
    # methods point back at it) until a collection: with a paused collector, the end of
    # the load, holding every map of a million-mention load meanwhile
    kept = weakref.ref(collector)
    records = collector.records
    collector.discard()
    del collector
    assert kept() is None
    assert records == {}
    graph.discard()
    assert graph.node_count == 0 and graph.edge_count == 0


async def test_an_undiscarded_collector_waits_for_the_cyclic_collector(
    tmp_path: Path, no_gc: None
) -> None:
    # the reason for `discard`: this is what a bulk load would hold on to
    collector = await _collected(tmp_path)
    kept = weakref.ref(collector)
    del collector
    assert kept() is not None
    gc.collect()
    assert kept() is None
