"""What `cpgraph link` holds while the engine runs, and when the next run's state is
put in place (issue #16 item 1: memory proportional to the work)."""

from __future__ import annotations

import gc
import weakref

import pandas as pd
import pytest

from cpgraph.linkage import service as service_module
from cpgraph.linkage.service import WRITE_COLUMNS
from cpgraph.linkage.statefile import load_state
from cpgraph.steward.linking import linkage_service
from tests.integration.linkage.stores import loaded_store

pytestmark = pytest.mark.integration


def _frames_with_rows(column: str) -> list[pd.DataFrame]:
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, pd.DataFrame) and column in o and len(o)]


async def test_the_write_columns_wait_in_the_cache_and_the_state_only_after_the_writes(
    tmp_path, monkeypatch
):
    async with loaded_store(tmp_path, households=60, seed=29) as loaded:
        store = loaded.store
        service = linkage_service(store, loaded.settings)
        held: list[int] = []
        handed: list[pd.DataFrame] = []
        real_open = service_module.open_engine

        def watching_engine(spec, s):
            engine = real_open(spec, s)
            real_link = engine.link

            def link(mentions, *args, **kw):
                handed.append(mentions)
                # every frame of mention rows alive now, but the one handed to the engine
                held.extend(len(f) for f in _frames_with_rows("row_hash") if f is not mentions)
                return real_link(mentions, *args, **kw)

            engine.link = link  # type: ignore[method-assign]
            return engine

        monkeypatch.setattr(service_module, "open_engine", watching_engine)
        # A run whose last write fails leaves no state for the next run ...
        write_batches = store.write_batches

        async def failing(name, rows, **kw):
            if name == "person_relationships_upsert":
                raise RuntimeError("the store went away")
            return await write_batches(name, rows, **kw)

        store.write_batches = failing  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            await service.link(full=True)
        staged = service.state_path.with_name(service.state_path.name + ".staged")
        assert not service.state_path.exists() and not staged.exists()
        # ... while nothing held the write stage's columns beside the engine's frame
        assert handed and held == []

        store.write_batches = write_batches  # type: ignore[method-assign]
        report = await service.link(full=True)
        assert service.state_path.exists() and not staged.exists()
        state = load_state(service.state_path, service.spec.version)
        assert state is not None and state.written is not None
        assert len(state.written) == report.mentions and len(state.edges) > 0
        # the columns read back are the read's own, row for row
        read = (await service.read()).mentions
        back = service._cached_write_columns()
        assert list(back.columns) == list(WRITE_COLUMNS)
        pd.testing.assert_frame_equal(back, read[list(WRITE_COLUMNS)].reset_index(drop=True))


async def test_an_incremental_run_lets_go_of_the_last_runs_state_as_it_goes(tmp_path, monkeypatch):
    # at 1.29M mentions the last run's cannot-links (~0.5 GB) and edges were held
    # through the whole incremental run, beside the copies the engine made of them
    async with loaded_store(tmp_path, households=60, seed=29) as loaded:
        service = linkage_service(loaded.store, loaded.settings)
        await service.link(full=True)
        refs: dict[str, weakref.ref] = {}
        real_load = service_module.load_state

        def loading(path, version):
            state = real_load(path, version)
            assert state is not None and len(state.cannot) and len(state.edges)
            refs["cannot"], refs["edges"] = weakref.ref(state.cannot), weakref.ref(state.edges)
            return state

        monkeypatch.setattr(service_module, "load_state", loading)
        alive: dict[str, bool] = {}
        real_open = service_module.open_engine

        def watching_engine(spec, s):
            engine = real_open(spec, s)
            real_clustered, real_assignments = engine._clustered, engine._assignments

            def clustered(*args, **kw):
                gc.collect()
                alive["cannot-links, clustering"] = refs["cannot"]() is not None
                alive["edges, clustering"] = refs["edges"]() is not None
                return real_clustered(*args, **kw)

            def assignments(*args, **kw):
                gc.collect()
                alive["edges, assigning"] = refs["edges"]() is not None
                return real_assignments(*args, **kw)

            engine._clustered = clustered  # type: ignore[method-assign]
            engine._assignments = assignments  # type: ignore[method-assign]
            return engine

        monkeypatch.setattr(service_module, "open_engine", watching_engine)
        report = await service.link()
        assert report.incremental
        # the edges are read while the region is scoped, then let go
        assert alive == {
            "cannot-links, clustering": False,
            "edges, clustering": True,
            "edges, assigning": False,
        }
