"""An incremental run links as a full run does, and a run with nothing changed does no work.

A generated population is loaded into an embedded FalkorDB and read back as `cpgraph
link` reads it (id-window pages: every mention once, in key order). A first run links
all but 1% of the mentions; the delta (those mentions added, 1% of the others changed)
is then linked incrementally from the first run's state and in full: the same persons,
the same ids, the same review queue (issue #16 item 2).
"""

from __future__ import annotations

import pandas as pd
import pytest

from cpgraph.config import Backend, Settings
from cpgraph.ingest.engine import load_extracts
from cpgraph.linkage import engine as engine_module
from cpgraph.linkage.engine import EngineResult, LinkageEngine
from cpgraph.linkage.service import LinkageService
from cpgraph.linkage.statefile import load_state, save_state
from cpgraph.steward.linking import linkage_service
from cpgraph.store import create_store
from tests.factories import make_population

pytestmark = pytest.mark.integration

HOUSEHOLDS = 400
REL_COLUMNS = ["from_key", "to_key", "relationship", "lives_with"]
# the queries that write resolutions (by what each mention resolved to before the run)
RESOLUTION_WRITES = {"persons_resolve_new", "persons_resolve_same", "persons_resolve_upsert"}


@pytest.fixture(scope="module")
async def population(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mentions and relationships of generated households, as the store returns them."""
    root = tmp_path_factory.mktemp("incremental-pop")
    pop = make_population(root / "extracts", households=HOUSEHOLDS, seed=13)
    settings = Settings(backend=Backend.FALKORDB, data_dir=root / "data", falkordb_url=None)
    store = create_store(settings)
    await store.start()
    try:
        await store.bootstrap()
        await load_extracts(store, pop.extracts())
        count = (await store.query("linkage_mentions_start"))[0]
        service = LinkageService(store, settings)
        service.page_size = 97  # many id windows, most cutting through other labels
        data = await service.read()
    finally:
        await store.close()
    assert count["last"] > count["after"] >= -1
    return data.mentions, data.relationships[REL_COLUMNS]


def _ids(result: EngineResult) -> dict[str, str]:
    a = result.assignments
    return dict(zip(a["key"], a["person_id"], strict=True))


def _review(result: EngineResult) -> set[tuple[str, str, float]]:
    r = result.review
    return set(zip(r["key_a"], r["key_b"], r["probability"].round(9), strict=True))


def test_the_store_is_read_whole_in_key_order(population):
    mentions, rels = population
    assert len(mentions) > 3_000 and mentions["key"].is_unique
    assert mentions["key"].is_monotonic_increasing
    assert len(rels) > 500 and rels["from_key"].isin(mentions["key"]).all()


def test_a_delta_links_as_a_full_run_and_no_change_compares_nothing(population):
    mentions, rels = population
    engine = LinkageEngine(workers=1)
    later = mentions.sample(frac=0.01, random_state=3)["key"]
    before = mentions[~mentions["key"].isin(later)].reset_index(drop=True)
    first = engine.link(before, rels[rels["from_key"].isin(before["key"])])
    model, prev = first.model, _ids(first)

    # nothing changed: no pair compared, every id and the review queue as they were
    same = engine.link(
        before,
        rels[rels["from_key"].isin(before["key"])],
        model=model,
        previous_ids=prev,
        state=first.state,
    )
    assert same.summary["incremental"] and same.summary["changed_mentions"] == 0
    assert same.summary["compared_pairs"] == 0
    assert _ids(same) == prev and _review(same) == _review(first)

    # the delta: 1% new mentions, 1% of the others moved house
    now = mentions.copy()
    moved = now["key"].isin(before["key"].sample(frac=0.01, random_state=4))
    now.loc[moved, "postcode"] = "B15 2TT"
    inc = engine.link(now, rels, model=model, previous_ids=prev, state=first.state)
    full = engine.link(now, rels, model=model, previous_ids=prev)
    assert inc.summary["incremental"] and not full.summary["incremental"]
    # (and the mentions whose stated relatives now imply a sex or birth years)
    changed = inc.summary["changed_mentions"]
    assert len(later) + int(moved.sum()) <= changed < len(now) // 20
    assert inc.summary["compared_pairs"] < full.summary["compared_pairs"] / 10
    cols = ["key", "person_id", "status"]
    pd.testing.assert_frame_equal(inc.assignments[cols], full.assignments[cols])
    # Documented order effect: a mention's supporting pair (partner, method, probability
    # shown with it) is the first of its best edges, and a delta run lists its stored
    # edges before the new ones: among equal-weight ties it may name another partner.
    a, b = inc.assignments["partner_key"], full.assignments["partner_key"]
    assert ((a == b) | (a.isna() & b.isna())).mean() > 0.99
    assert _review(inc) == _review(full)
    # persons none of whose mentions changed keep their ids
    touched = set(now.loc[moved, "key"]) | set(later)
    untouched = {p for k, p in prev.items() if k not in touched} - {
        prev[k] for k in touched if k in prev
    }
    got = _ids(inc)
    kept = [k for k, p in prev.items() if p in untouched]
    assert kept and sum(got[k] == prev[k] for k in kept) / len(kept) > 0.99


async def test_an_incremental_run_writes_only_the_resolutions_that_changed(tmp_path):

    pop = make_population(tmp_path / "extracts", households=150, seed=17)
    settings = Settings(backend=Backend.FALKORDB, data_dir=tmp_path / "data", falkordb_url=None)
    store = create_store(settings)
    await store.start()
    try:
        await store.bootstrap()
        await load_extracts(store, pop.extracts())
        written: list[int] = []
        write_batches = store.write_batches

        async def counting(name, rows, **kw):  # the real writes, counted per run
            rows = list(rows)
            if name in RESOLUTION_WRITES:
                written[-1] += len(rows)
            return await write_batches(name, rows, **kw)

        store.write_batches = counting  # type: ignore[method-assign]
        service = linkage_service(store, settings)
        written.append(0)
        first = await service.link(full=True)
        links = await service.assignments()
        assert written == [first.mentions] and not first.incremental
        # nothing changed: nothing rewritten, the links as they were
        written.append(0)
        again = await service.link()
        assert again.incremental and written[-1] == 0
        pd.testing.assert_frame_equal(await service.assignments(), links)
        # a resolution the last run wrote differently is written again (only it)
        state = load_state(service.state_path, service.spec.version)
        assert state is not None and state.written is not None
        stale = list(state.written.index[:5])
        state.written.loc[stale] = state.written.loc[stale] + 1
        save_state(service.state_path, state, service.spec.version)
        written.append(0)
        await service.link()
        assert written[-1] == len(stale)
        pd.testing.assert_frame_equal(await service.assignments(), links)
        # a full run rewrites every resolution
        written.append(0)
        await service.link(full=True)
        assert written[-1] == first.mentions
    finally:
        await store.close()


async def test_cannot_links_spilled_to_disk_save_the_same_state(tmp_path, monkeypatch):
    # `cpgraph link` puts a large run's cannot-links on disk once clustered (here every
    # run's): the state it saves, and the next incremental run, are as without it
    pop = make_population(tmp_path / "extracts", households=150, seed=19)
    settings = Settings(backend=Backend.FALKORDB, data_dir=tmp_path / "data", falkordb_url=None)
    store = create_store(settings)
    await store.start()
    try:
        await store.bootstrap()
        await load_extracts(store, pop.extracts())
        service = linkage_service(store, settings)
        folder = service.state_path.parent
        stale = folder / f"{engine_module.SPILL_PREFIX}{2**22 + 5}-x-a.npy"  # a killed run's
        folder.mkdir(parents=True, exist_ok=True)
        stale.write_bytes(b"x")
        spilled_files: list[object] = []
        spill = engine_module.LinkageEngine._spill_cannot

        def spilling(self, scored):
            files = spill(self, scored)
            spilled_files.append(files)
            return files

        monkeypatch.setattr(engine_module.LinkageEngine, "_spill_cannot", spilling)
        monkeypatch.setattr(engine_module, "SPILL_MIN", 1)
        await service.link(full=True)
        assert spilled_files and spilled_files[-1], "the run spilled its cannot-links"
        on_disk = load_state(service.state_path, service.spec.version)
        links = await service.assignments()
        assert not list(folder.glob(f"{engine_module.SPILL_PREFIX}*")), "none left behind"
        again = await service.link()
        assert again.incremental
        pd.testing.assert_frame_equal(await service.assignments(), links)
        monkeypatch.setattr(engine_module, "SPILL_MIN", 10**12)
        await service.link(full=True)
        assert spilled_files[-1] is None
        in_memory = load_state(service.state_path, service.spec.version)
        assert on_disk is not None and in_memory is not None and len(in_memory.cannot)
        pd.testing.assert_frame_equal(on_disk.cannot, in_memory.cannot)
        pd.testing.assert_frame_equal(on_disk.edges, in_memory.edges)
        pd.testing.assert_frame_equal(await service.assignments(), links)
    finally:
        await store.close()
