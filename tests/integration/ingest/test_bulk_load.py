"""The bulk initial load: the same graph as a normal load, written through GRAPH.BULK."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cpgraph.config import Backend, Settings
from cpgraph.ingest import ManifestError, load_extracts
from cpgraph.ingest.bulk import BulkCollector, BulkMode, bulk_applies, bulk_load_extracts
from cpgraph.store import GraphStore, create_store, falkordb, falkordb_bulk
from cpgraph.store.bulk import BulkImportError, store_is_empty
from tests.factories import make_population
from tests.integration.ingest.conftest import extract_folders, snapshot
from tests.queries import with_test_queries
from tests.unit.ingest.extracts import write_extract

pytestmark = pytest.mark.integration


@pytest.fixture
async def second_store(tmp_path: Path) -> AsyncIterator[GraphStore]:
    """Another started, bootstrapped embedded store (beside ``falkordb_store``)."""
    settings = Settings(backend=Backend.FALKORDB, data_dir=tmp_path / "bulk-data")
    graph_store = create_store(settings, with_test_queries())
    await graph_store.start()
    try:
        await graph_store.bootstrap()
        yield graph_store
    finally:
        await graph_store.close()


def _report_counts(reports: list[Any]) -> list[Any]:
    return [
        (
            r.load_id,
            r.status,
            r.rows_read,
            r.rows_loaded,
            r.rows_quarantined,
            r.mentions,
            r.events,
            r.relationships,
            {n: (f.read, f.loaded, f.quarantined, dict(f.errors)) for n, f in r.files.items()},
        )
        for r in reports
    ]


async def test_bulk_graph_equals_normal_graph(
    falkordb_store: GraphStore, second_store: GraphStore, tmp_path: Path
) -> None:
    pop = make_population(tmp_path / "pop", households=40, seed=11)
    folders = pop.extracts()
    normal = await load_extracts(falkordb_store, folders)
    bulk, outcome = await bulk_load_extracts(second_store, folders)
    assert outcome.path == "falkordb"
    assert _report_counts(bulk) == _report_counts(normal)
    assert all(r.rows_read == r.rows_loaded + r.rows_quarantined for r in bulk)
    expected_nodes, expected_edges = await snapshot(falkordb_store)
    nodes, edges = await snapshot(second_store)
    assert len(nodes) == outcome.nodes and len(edges) == outcome.edges
    assert {n[0] for n in nodes} >= {("SourceRecord",), ("Event",), ("Load",), ("Address",)}
    assert nodes == expected_nodes
    assert edges == expected_edges
    stats = await second_store.stats()
    assert stats == await falkordb_store.stats()


async def test_bulk_load_leaves_the_schema_and_later_loads_are_incremental(
    second_store: GraphStore, generated: Path, tmp_path: Path
) -> None:
    folders = extract_folders(generated)
    await bulk_load_extracts(second_store, folders)
    constraints = await second_store.query("constraints_list")
    spec = tomllib.loads(
        (second_store.registry.cypher_dir / "falkordb" / "constraints.toml").read_text()
    )
    wanted = {(c["label"], tuple(c["properties"])) for c in spec["unique"]}
    have = {(r["label"], tuple(r["properties"])) for r in constraints}
    assert wanted <= have
    assert all(r["status"] == "OPERATIONAL" for r in constraints)
    assert not (await second_store.query("bulk_indexes_pending"))[0]["pending"]
    before = await snapshot(second_store)
    again = await load_extracts(second_store, folders)  # the normal, incremental path
    assert all(r.status == "completed" for r in again)
    assert await snapshot(second_store) == before
    assert not await bulk_applies(second_store, BulkMode.AUTO)
    with pytest.raises(BulkImportError, match="empty store"):
        await bulk_applies(second_store, BulkMode.ALWAYS)
    with pytest.raises(BulkImportError, match="empty store"):
        await bulk_load_extracts(second_store, folders)
    later = write_extract(
        tmp_path / "later",
        "police",
        "bulk-later",
        {"nominals.csv": "nominal_id,forename,surname,postcode\r\nN1,Ann,Lee,B1 1AA\r\n"},
    )
    records = (await second_store.stats()).nodes["SourceRecord"]
    one_more = await load_extracts(second_store, [later])
    assert one_more[0].status == "completed" and one_more[0].mentions == 1
    assert (await second_store.stats()).nodes["SourceRecord"] == records + 1


async def test_bulk_applies_only_to_an_empty_store(
    second_store: GraphStore, falkordb_store: GraphStore, generated: Path
) -> None:
    assert await store_is_empty(second_store)
    assert await bulk_applies(second_store, BulkMode.AUTO)
    assert await bulk_applies(second_store, BulkMode.ALWAYS)
    assert not await bulk_applies(second_store, BulkMode.NEVER)
    await load_extracts(falkordb_store, extract_folders(generated, "police")[:1])
    assert not await store_is_empty(falkordb_store)
    assert not await bulk_applies(falkordb_store, BulkMode.AUTO)


async def test_an_unusable_extract_writes_nothing(
    second_store: GraphStore, generated: Path, tmp_path: Path
) -> None:
    folders = extract_folders(generated)
    broken = shutil.copytree(folders[-1], tmp_path / "broken")
    (broken / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(ManifestError):
        await bulk_load_extracts(second_store, [*folders, broken])
    assert await store_is_empty(second_store)
    # and the store's schema is still there for the next load
    assert await second_store.query("constraints_list")


async def test_bulk_history_of_two_extracts_equals_normal(
    falkordb_store: GraphStore, second_store: GraphStore, tmp_path: Path
) -> None:
    header = "nominal_id,forename,surname,postcode\r\n"
    old = write_extract(
        tmp_path / "old", "police", "hist-1", {"nominals.csv": header + "N1,Ann,Lee,B1 1AA\r\n"}
    )
    new = write_extract(
        tmp_path / "new",
        "police",
        "hist-1",
        {"nominals.csv": header + "N1,Ann,Lee-Smith,B2 2BB\r\nN2,Bo,Ray,\r\n"},
        extracted_at="2026-12-01T02:00:00Z",
    )
    await load_extracts(falkordb_store, [old, new])
    await bulk_load_extracts(second_store, [old, new])
    nodes, edges = await snapshot(second_store)
    assert ("RecordVersion",) in {n[0] for n in nodes}
    assert sum(1 for e in edges if e[0] == "AT_ADDRESS") == 2
    assert (nodes, edges) == await snapshot(falkordb_store)


def _docker_or_skip() -> None:
    from tests.conftest import _docker_answers  # noqa: PLC0415

    if not _docker_answers():
        pytest.skip(
            "the neo4j-admin import test runs Neo4j 5 in Docker (the import needs the "
            "database offline, so NEO4J_TEST_URI cannot serve); no Docker engine answers here"
        )


async def test_neo4j_import_files_build_the_same_graph(
    falkordb_store: GraphStore, tmp_path: Path
) -> None:
    _docker_or_skip()
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415
    from testcontainers.core.waiting_utils import wait_for_logs  # noqa: PLC0415

    from cpgraph.ingest.bulk import BulkCollector  # noqa: PLC0415
    from cpgraph.store.neo4j_import import write_import  # noqa: PLC0415

    pop = make_population(tmp_path / "pop", households=15, seed=3)
    await load_extracts(falkordb_store, pop.extracts())
    collector = BulkCollector(with_test_queries("neo4j"))
    await load_extracts(collector, pop.extracts())
    folder = tmp_path / "import"
    command = write_import(collector.graph(), folder)
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)
    password = "cpgraph-test-password"
    script = " ".join(command).replace("--nodes=", "--nodes=/import/")
    script = script.replace("--relationships=", "--relationships=/import/")
    container = (
        DockerContainer("neo4j:5")
        .with_env("NEO4J_AUTH", f"neo4j/{password}")
        .with_volume_mapping(str(folder), "/import", "ro")
        .with_exposed_ports(7687)
        .with_command(["bash", "-c", f"{script} && exec /startup/docker-entrypoint.sh neo4j"])
    )
    with container:
        wait_for_logs(container, "Started.", timeout=180)
        uri = f"bolt://{container.get_container_host_ip()}:{container.get_exposed_port(7687)}"
        settings = Settings(
            backend=Backend.NEO4J, neo4j_uri=uri, neo4j_user="neo4j", neo4j_password=password
        )
        neo = create_store(settings, with_test_queries("neo4j"))
        await neo.start()
        try:
            await neo.bootstrap()  # constraints over the imported graph: they must hold
            assert await snapshot(neo) == await snapshot(falkordb_store)
        finally:
            await neo.close()


async def test_a_bulk_loaded_store_restarts_from_its_file(
    second_store: GraphStore, generated: Path
) -> None:
    """The append-only file a bulk load leaves replays: the same graph, its schema
    operational and its indexes answering, after the store restarts from it."""
    await bulk_load_extracts(second_store, extract_folders(generated))
    before = await snapshot(second_store)
    indexed = await second_store.query("constraints_list")
    await second_store.close()
    # graph and schema are in the file's snapshot, no command replayed after it: FalkorDB
    # may fail to replay a constraint over stored nodes before its index is rebuilt
    logs = list((second_store.settings.data_dir / "appendonlydir").glob("*.incr.aof"))
    assert logs and not any(b"GRAPH." in f.read_bytes() for f in logs)
    async with create_store(second_store.settings, with_test_queries()) as again:
        assert await snapshot(again) == before
        constraints = await again.query("constraints_list")
        assert {(r["label"], tuple(r["properties"])) for r in constraints} == {
            (r["label"], tuple(r["properties"])) for r in indexed
        }
        assert all(r["status"] == "OPERATIONAL" for r in constraints)
        # a lookup through the key index finds every record the scan finds
        keys = [dict(props)["key"] for labels, props in before[0] if labels == ("SourceRecord",)]
        found = await again.query("api_records_by_key", keys=keys)
        assert len(keys) > 100 and sorted(r["key"] for r in found) == sorted(keys)


async def test_the_bulk_write_pauses_the_append_only_file_and_resumes_it(
    second_store: GraphStore, generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GRAPH.BULK calls are not logged (the file would hold the whole graph only to be
    # rewritten twice): the log is off while they run, and on again, from one snapshot,
    # once the load returns
    seen: list[bool] = []
    order: list[str] = []
    real_send = falkordb_bulk._send  # noqa: SLF001

    async def send(store: Any, args: list[Any]) -> None:
        seen.append(await store.log_enabled())
        counts = args[1:5] if args[0] == "BEGIN" else args[:4]
        order.append("nodes" if counts[0] else "edges")
        await real_send(store, args)

    monkeypatch.setattr(falkordb_bulk, "_send", send)
    rewrites: list[str] = []
    real_rewrite = second_store.rewrite_log  # type: ignore[attr-defined]
    real_bootstrap = second_store.bootstrap

    async def rewrite(*args: Any, **kwargs: Any) -> None:
        rewrites.append("rewrite")
        await real_rewrite(*args, **kwargs)

    async def bootstrap() -> list[str]:
        order.append("schema")
        return await real_bootstrap()

    monkeypatch.setattr(second_store, "rewrite_log", rewrite)
    monkeypatch.setattr(second_store, "bootstrap", bootstrap)
    await bulk_load_extracts(second_store, extract_folders(generated))
    assert seen and not any(seen)
    assert rewrites == []  # the resumed log's own snapshot is the only one
    assert await second_store.log_enabled()  # type: ignore[attr-defined]
    # the schema (on nodes only) is built while the edges are sent, once the nodes are in
    assert order.count("schema") == 1 and "edges" in order
    at = order.index("schema")
    assert set(order[:at]) == {"nodes"} and set(order[at + 1 :]) == {"edges"}


async def test_the_load_frees_what_it_collected_once_the_server_has_the_graph(
    second_store: GraphStore, generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the collector's maps and the tables (millions of objects at scale) are freed while
    # the server builds the indexes, not after it: and never before the last call is sent
    events: list[str] = []
    real_send = falkordb_bulk._send  # noqa: SLF001
    real_discard = BulkCollector.discard

    async def send(store: Any, args: list[Any]) -> None:
        events.append("send")
        await real_send(store, args)

    def discard(self: BulkCollector) -> None:
        events.append("discard")
        real_discard(self)

    monkeypatch.setattr(falkordb_bulk, "_send", send)
    monkeypatch.setattr(BulkCollector, "discard", discard)
    reports, outcome = await bulk_load_extracts(second_store, extract_folders(generated))
    assert events.count("discard") == 1
    assert events.index("discard") > len(events) - 1 - events[::-1].index("send")
    assert outcome.nodes > 0 and outcome.edges > 0  # counted before the tables emptied
    nodes, edges = await snapshot(second_store)
    assert (len(nodes), len(edges)) == (outcome.nodes, outcome.edges)
    assert all(r.status == "completed" for r in reports)


async def test_a_bulk_write_failing_while_its_schema_is_built_leaves_an_empty_store(
    second_store: GraphStore, generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_send = falkordb_bulk._send  # noqa: SLF001

    async def send(store: Any, args: list[Any]) -> None:
        counts = args[1:5] if args[0] == "BEGIN" else args[:4]
        if counts[1]:  # the first edges: the schema is being built meanwhile
            raise BulkImportError("GRAPH.BULK failed: test")
        await real_send(store, args)

    monkeypatch.setattr(falkordb_bulk, "_send", send)
    with pytest.raises(BulkImportError, match="test"):
        await bulk_load_extracts(second_store, extract_folders(generated))
    assert await store_is_empty(second_store)
    assert await second_store.log_enabled()  # type: ignore[attr-defined]
    constraints = await second_store.query("constraints_list")
    assert constraints and all(r["status"] == "OPERATIONAL" for r in constraints)
    later = await load_extracts(second_store, extract_folders(generated))  # normal path
    assert all(r.status == "completed" for r in later)


async def test_a_failed_bulk_write_leaves_the_log_on_and_an_empty_store_that_restarts_empty(
    second_store: GraphStore, generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(*args: Any, **kwargs: Any) -> None:
        raise BulkImportError("indexes were still being built after the bulk load")

    monkeypatch.setattr(falkordb_bulk, "wait_indexes", failing)  # after the whole graph went
    with pytest.raises(BulkImportError, match="still being built"):
        await bulk_load_extracts(second_store, extract_folders(generated))
    assert await second_store.log_enabled()  # type: ignore[attr-defined]
    assert await store_is_empty(second_store)
    await second_store.close()
    async with create_store(second_store.settings, with_test_queries()) as again:
        assert await store_is_empty(again)
        constraints = await again.query("constraints_list")
        assert constraints and all(r["status"] == "OPERATIONAL" for r in constraints)


async def test_a_load_killed_while_the_log_is_paused_restarts_as_it_was_before(
    second_store: GraphStore, generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the server stopped before the log is resumed (the loader killed mid-write): what
    # the file holds is the store before the load, empty, never a half-written graph
    class Killed(Exception):
        pass

    async def never(store: Any) -> None:
        raise Killed

    monkeypatch.setattr(falkordb_bulk, "_resume_log", never)
    monkeypatch.setattr(falkordb_bulk, "_empty_again", never)  # killed: no clean-up either
    with pytest.raises(Killed):
        await bulk_load_extracts(second_store, extract_folders(generated))
    assert not await store_is_empty(second_store)  # the graph is in the server's memory
    assert not await second_store.log_enabled()  # type: ignore[attr-defined]
    await second_store.close()
    async with create_store(second_store.settings, with_test_queries()) as again:
        assert await store_is_empty(again)
        assert await again.log_enabled()  # type: ignore[attr-defined]


async def test_constraints_over_the_bulk_loaded_graph_get_the_long_wait(
    second_store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a uniqueness constraint over a million stored nodes builds like an index: on a busy
    # machine it took more than the minute an empty graph's constraints are given
    waits: list[float] = []
    real = second_store._wait_constraints_operational  # type: ignore[attr-defined]  # noqa: SLF001

    async def recording(timeout: float = falkordb._CONSTRAINT_WAIT) -> None:  # noqa: SLF001
        waits.append(timeout)
        await real(timeout)

    monkeypatch.setattr(second_store, "_wait_constraints_operational", recording)
    await second_store.bootstrap()  # the graph is empty
    pop = make_population(tmp_path / "pop", households=5, seed=3)
    await bulk_load_extracts(second_store, pop.extracts())
    assert waits == [falkordb._CONSTRAINT_WAIT, falkordb._CONSTRAINT_WAIT_POPULATED]  # noqa: SLF001
    assert falkordb._CONSTRAINT_WAIT_POPULATED >= 10 * falkordb._CONSTRAINT_WAIT  # noqa: SLF001
