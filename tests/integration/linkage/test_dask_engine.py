"""The Dask engine links a 2,000-household population exactly as the local engine does.

The population is generated, loaded through the real loaders into an embedded FalkorDB
and read back as `cpgraph link` reads it; both engines then link the same mentions, the
Dask one on a local cluster of two worker processes (issue #16 item 3).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from distributed import Client

from cpgraph.config import Backend, LinkEngine, Settings
from cpgraph.ingest.engine import load_extracts
from cpgraph.linkage.clustering import connected_components
from cpgraph.linkage.distributed import (
    DaskLinkageEngine,
    DaskOptions,
    local_cluster,
    open_engine,
)
from cpgraph.linkage.engine import EngineResult, LinkageEngine
from cpgraph.linkage.service import LinkageService
from cpgraph.steward.linking import linkage_service
from cpgraph.store import create_store
from tests.factories import make_population

pytestmark = pytest.mark.integration

HOUSEHOLDS = 2_000
REL_COLUMNS = ["from_key", "to_key", "relationship", "lives_with"]


@pytest.fixture(scope="module")
async def population(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mentions and relationships of 2,000 generated households, as the store returns them."""
    root = tmp_path_factory.mktemp("dask-pop")
    pop = make_population(root / "extracts", households=HOUSEHOLDS, seed=11)
    settings = Settings(backend=Backend.FALKORDB, data_dir=root / "data", falkordb_url=None)
    store = create_store(settings)
    await store.start()
    try:
        await store.bootstrap()
        await load_extracts(store, pop.extracts())
        data = await LinkageService(store, settings).read()
    finally:
        await store.close()
    return data.mentions, data.relationships[REL_COLUMNS]


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """A local cluster of two single-threaded worker processes; checked gone afterwards."""
    with local_cluster(2, 1) as cluster, Client(cluster) as c:
        pids = list(c.run(os.getpid).values())
        assert len(set(pids)) == 2 and os.getpid() not in pids  # real worker processes
        yield c
    assert not [p for p in pids if psutil.pid_exists(p) and _alive(p)]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _persons(result: EngineResult) -> set[frozenset[str]]:
    """The partition of mention keys into persons."""
    a = result.assignments
    return {frozenset(g) for g in a.groupby("person_id")["key"].agg(list)}


def _review_pairs(result: EngineResult) -> set[tuple[str, str]]:
    r = result.review
    return set(zip(r["key_a"], r["key_b"], strict=True))


@pytest.fixture(scope="module")
def local(population) -> EngineResult:
    mentions, rels = population
    return LinkageEngine(workers=1).link(mentions, rels)


@pytest.fixture(scope="module")
def dask_engine(client, tmp_path_factory) -> DaskLinkageEngine:
    work = tmp_path_factory.mktemp("dask-work")
    return DaskLinkageEngine(workers=1, client=client, options=DaskOptions(work_dir=work))


@pytest.fixture(scope="module")
def distributed(population, dask_engine) -> EngineResult:
    mentions, rels = population
    return dask_engine.link(mentions, rels)


def test_the_population_is_the_issues_size(population, local):
    mentions, _ = population
    assert len(mentions) > 20_000  # about 11 mentions a household
    assert local.summary["compared_pairs"] > 40_000
    assert local.summary["linked_mentions"] > 10_000


def test_links_equal_the_local_engines(local, distributed):
    assert _persons(distributed) == _persons(local)
    assert _review_pairs(distributed) == _review_pairs(local)


def test_everything_the_run_decides_is_the_same(local, distributed):
    # ids, methods, probabilities, breakdowns; the review queue's scores; the summary
    pd.testing.assert_frame_equal(distributed.assignments, local.assignments)
    pd.testing.assert_frame_equal(distributed.review, local.review)
    pd.testing.assert_frame_equal(distributed.state.edges, local.state.edges)
    # the pairs kept only as cannot-links (compact, apart from the edges): the same set
    pd.testing.assert_frame_equal(
        distributed.state.cannot.sort_values(["a", "b"], ignore_index=True),
        local.state.cannot.sort_values(["a", "b"], ignore_index=True),
    )
    assert len(local.state.cannot) and distributed.summary == local.summary


def test_the_work_was_partitioned_on_the_cluster(local, distributed, dask_engine):
    info = dask_engine.info
    assert info is not None
    assert info.partitions == 4  # twice the cluster's two threads
    assert info.tasks > info.partitions  # several blocking passes, each partitioned
    assert info.candidate_pairs == local.summary["compared_pairs"]
    assert info.kept_edges == len(local.state.edges) + len(local.state.cannot)
    assert info.kept_edges < info.candidate_pairs  # only kept edges came back
    # every person of the first, unconstrained round lies in one component of the
    # kept links; the cluster's union-find agrees with the local one
    labels = info.components
    e = local.state.edges
    pos = pd.Series(np.arange(len(local.assignments)), index=local.assignments["key"])
    link = ~e["cannot"] & ((e["priority"] < 2) | (e["probability"] >= dask_engine.spec.auto))
    i = pos.reindex(e["key_a"][link]).to_numpy()
    j = pos.reindex(e["key_b"][link]).to_numpy()
    assert (labels[i] == labels[j]).all()
    np.testing.assert_array_equal(labels, connected_components(len(labels), i, j))
    assert info.largest_component >= 2


def test_the_run_folder_is_removed(dask_engine, distributed):
    assert dask_engine.options.work_dir is not None
    assert list(Path(dask_engine.options.work_dir).iterdir()) == []


def test_an_incremental_run_equals_the_local_one(population, local, dask_engine):
    mentions, rels = population
    changed = mentions.copy()
    rows = changed.index[::500]
    changed.loc[rows, "postcode"] = None  # a few mentions lose their address
    loc = LinkageEngine(workers=1).link(changed, rels, state=local.state, previous_ids=_ids(local))
    dist = dask_engine.link(changed, rels, state=local.state, previous_ids=_ids(local))
    assert loc.summary["incremental"] and 0 < loc.summary["changed_mentions"] < 200
    pd.testing.assert_frame_equal(dist.assignments, loc.assignments)
    pd.testing.assert_frame_equal(dist.review, loc.review)
    assert dist.summary == loc.summary


def _ids(result: EngineResult) -> dict[str, str]:
    a = result.assignments
    return dict(zip(a["key"], a["person_id"], strict=True))


def test_settings_choose_the_engine_and_its_own_cluster_stops(tmp_path, population):
    # CPGRAPH_LINK_ENGINE=dask without a scheduler: a local cluster for the run, gone after
    settings = Settings(
        data_dir=tmp_path / "data", link_engine=LinkEngine.DASK, dask_workers=1, link_workers=1
    )
    engine = open_engine(None, settings)
    assert isinstance(engine, DaskLinkageEngine)
    assert isinstance(open_engine(None, Settings(data_dir=tmp_path)), LinkageEngine)
    mentions, rels = population
    few = mentions.iloc[:1500]
    keys = set(few["key"])
    few_rels = rels[rels["from_key"].isin(keys) & rels["to_key"].isin(keys)]
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    result = engine.link(few, few_rels)
    expected = LinkageEngine(workers=1).link(few, few_rels)
    assert _persons(result) == _persons(expected)
    after = {p.pid for p in psutil.Process().children(recursive=True) if _alive(p.pid)} - before
    assert not after  # the run's scheduler and workers stopped with it
    work = tmp_path / "data" / "linkage" / "dask"
    assert list(work.iterdir()) == []
    assert work.stat().st_mode & 0o777 == 0o700  # made by the run: private


async def test_the_service_links_with_the_engine_its_settings_name(tmp_path):
    # CPGRAPH_LINK_ENGINE=dask through LinkageService (what `cpgraph link --engine dask`
    # runs): the persons it writes are the local engine's
    pop = make_population(tmp_path / "extracts", households=30, seed=5)
    persons: dict[str, set[frozenset[str]]] = {}
    for engine in (LinkEngine.LOCAL, LinkEngine.DASK):
        settings = Settings(
            backend=Backend.FALKORDB,
            data_dir=tmp_path / f"data-{engine}",
            falkordb_url=None,
            link_engine=engine,
            dask_workers=1,
            link_workers=1,
        )
        store = create_store(settings)
        await store.start()
        try:
            await store.bootstrap()
            await load_extracts(store, pop.extracts())
            service = linkage_service(store, settings)
            report = await service.link(full=True)
            assert report.mentions > 200
            a = await service.assignments()
        finally:
            await store.close()
        persons[engine] = {frozenset(g) for g in a.groupby("person_id")["record_key"].agg(list)}
        # only the Dask engine makes (and empties) its run folders' parent
        work = settings.data_dir / "linkage" / "dask"
        assert work.exists() == (engine == LinkEngine.DASK)
    assert persons[LinkEngine.DASK] == persons[LinkEngine.LOCAL]
    assert any(len(p) > 1 for p in persons[LinkEngine.DASK])
