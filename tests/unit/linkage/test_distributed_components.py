"""The Dask engine's union-find over bucket forests, and how settings choose the engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cpgraph.config import LinkEngine, Settings
from cpgraph.errors import LinkageError
from cpgraph.linkage.clustering import connected_components
from cpgraph.linkage.distributed import (
    DaskLinkageEngine,
    DaskOptions,
    _forest,
    _merge_forests,
    open_engine,
)
from cpgraph.linkage.engine import LinkageEngine


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("buckets", [1, 2, 5])
def test_merged_bucket_forests_are_the_connected_components(seed, buckets):
    rng = np.random.default_rng(seed)
    n = 400
    i = rng.integers(0, n, 300)
    j = rng.integers(0, n, 300)
    # each edge lands in one bucket, as each pair does on the cluster
    bucket = rng.integers(0, buckets, len(i))
    forests = [_forest(i[bucket == b], j[bucket == b]) for b in range(buckets)]
    while len(forests) > 1:  # the driver's tree of merges
        forests = [
            _merge_forests(*forests[k : k + 2]) if k + 1 < len(forests) else forests[k]
            for k in range(0, len(forests), 2)
        ]
    nodes, roots = forests[0]
    labels = np.arange(n, dtype=np.int64)
    labels[nodes] = roots
    np.testing.assert_array_equal(labels, connected_components(n, i, j))
    assert len(np.unique(labels)) < n  # the graph has components of several records


def test_an_empty_bucket_is_an_empty_forest():
    nodes, roots = _forest(np.empty(0, np.int64), np.empty(0, np.int64))
    assert len(nodes) == 0 and len(roots) == 0
    merged = _merge_forests((nodes, roots), _forest(np.array([3]), np.array([1])))
    np.testing.assert_array_equal(merged[0], [1, 3])
    np.testing.assert_array_equal(merged[1], [1, 1])


def test_settings_choose_the_engine(tmp_path: Path):
    local = open_engine(None, Settings(data_dir=tmp_path))
    assert type(local) is LinkageEngine
    dask = open_engine(
        None,
        Settings(
            data_dir=tmp_path,
            link_engine=LinkEngine.DASK,
            dask_scheduler="tcp://scheduler.internal:8786",
            dask_partitions=16,
        ),
    )
    assert isinstance(dask, DaskLinkageEngine)
    assert dask.options == DaskOptions(
        scheduler="tcp://scheduler.internal:8786",
        workers=2,
        threads=1,
        partitions=16,
        work_dir=tmp_path / "linkage" / "dask",
    )
    with pytest.raises(LinkageError, match="unknown linkage engine"):
        open_engine(None, Settings(data_dir=tmp_path), engine="spark")


def test_both_engines_keep_the_memory_budget(tmp_path: Path):
    """The driver of a Dask run forks within the same budget as the local engine."""
    for name in ("local", "dask"):
        budgeted = open_engine(None, Settings(data_dir=tmp_path, link_memory_mb=1234), engine=name)
        assert budgeted.memory_mb == 1234
        unbounded = open_engine(None, Settings(data_dir=tmp_path, link_memory_mb=0), engine=name)
        assert unbounded.memory_mb is None


def test_the_engine_setting_comes_from_the_environment(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("CPGRAPH_LINK_ENGINE", "dask")
    monkeypatch.setenv("CPGRAPH_DASK_WORK_DIR", str(tmp_path / "shared"))
    settings = Settings(data_dir=tmp_path)
    assert settings.link_engine is LinkEngine.DASK
    assert DaskOptions.from_settings(settings).work_dir == tmp_path / "shared"
    monkeypatch.setenv("CPGRAPH_LINK_ENGINE", "spark")
    with pytest.raises(ValueError, match="link_engine"):
        Settings(data_dir=tmp_path)
