"""A store crash is detected and survived (#17 item 1).

The embedded FalkorDB is killed under a running API and under a running load: the
API's /healthz says the store is down (503 and why) instead of 200, the store's
supervisor starts it again from its append-only file with the data in it, /healthz
and queries come back without anyone restarting the API, a load cut off by the crash
ends `failed` (not `running` for ever) and a re-run completes; no name reaches a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cpgraph.config import Settings
from cpgraph.errors import StoreUnavailableError
from cpgraph.ingest import list_loads, load_extract
from cpgraph.ingest.bulk import bulk_load_extracts
from cpgraph.security import Role, add_user
from cpgraph.store import create_store
from cpgraph.store import embedded as embedded_module
from cpgraph.store.embedded import OWNER_FILE
from tests.e2e.served import served_api
from tests.factories import make_population
from tests.integration.ingest.conftest import snapshot
from tests.queries import with_test_queries

pytestmark = pytest.mark.integration

FORENAME, SURNAME = "Quenburga", "Ashworth-Vantongeren"
PERSON_QUERY = {"query": '{ person(id: "per-crash") { displayName } }'}
PURPOSE = "CP-2026-0017; store crash check"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _server_pid(data_dir: Path) -> int:
    return int(json.loads((data_dir / OWNER_FILE).read_text(encoding="utf-8"))["server_pid"])


async def _seed(settings: Settings) -> str:
    """A user and one resolved person; returns the user's token."""
    async with create_store(settings, with_test_queries()) as store:
        await store.bootstrap()
        token = await add_user(store, "crash-investigator", Role.INVESTIGATOR)
        record = {
            "key": "health:patient:C1",
            "system": "health",
            "agency": "health",
            "forename": FORENAME,
            "surname": SURNAME,
            "name_text": f"{FORENAME} {SURNAME}",
            "dob": "2016-03-02",
        }
        await store.write_batches("source_records_upsert", [record])
        person = {
            "key": record["key"],
            "person_id": "per-crash",
            "display_name": f"{FORENAME} {SURNAME}",
            "created_at": "2024-01-01",
            "probability": 1.0,
            "method": "singleton",
            "status": "singleton",
            "breakdown": "[]",
        }
        await store.write_batches("persons_resolve_upsert", [person])
    return token


async def test_served_api_reports_a_crashed_store_and_recovers_without_a_restart(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    token = await _seed(Settings(data_dir=data_dir))
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE}
    async with served_api(data_dir) as (http, proc):
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        first = await http.post("/graphql", json=PERSON_QUERY, headers=headers)
        assert first.json()["data"]["person"]["displayName"] == f"{FORENAME} {SURNAME}"
        old = _server_pid(data_dir)
        # A stopped server answers nothing (nor does it exit): the probe must say so.
        os.kill(old, signal.SIGSTOP)
        try:
            down = await http.get("/healthz")
        finally:
            os.kill(old, signal.SIGKILL)  # now it crashes
        assert down.status_code == 503
        assert down.json() == {"status": "store_down"}
        statuses: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while True:
            probe = await http.get("/healthz")
            if probe.status_code == 200:
                break
            statuses.append(probe.json())
            assert time.monotonic() < deadline, f"the store never came back: {statuses[-3:]}"
            await asyncio.sleep(0.05)
        assert all(s["status"] in ("store_down", "store_restarting") for s in statuses)
        assert not _alive(old)
        new = _server_pid(data_dir)
        assert new != old and _alive(new), "the supervisor started a new server"
        # The same API process answers again, from the data the store replayed.
        again = await http.post("/graphql", json=PERSON_QUERY, headers=headers)
        assert again.status_code == 200, again.text
        assert again.json()["data"]["person"]["displayName"] == f"{FORENAME} {SURNAME}"
        assert (await http.get("/readyz")).status_code == 200
        assert proc.poll() is None
    assert proc.stderr is not None
    server_log = proc.stderr.read().decode("utf-8", errors="replace")
    assert "restarting it from its append-only file" in server_log
    assert not _alive(new), "the server stops with the API"
    store_log = (data_dir / "falkordb.log").read_text(encoding="utf-8", errors="replace")
    for text in (server_log, store_log):
        assert FORENAME not in text and SURNAME not in text


async def test_a_load_cut_off_by_a_store_crash_ends_failed_and_a_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    folder = make_population(tmp_path / "pop", households=4, seed=17).extract("bham-edu")
    settings = Settings(data_dir=tmp_path / "data")
    store = create_store(settings, with_test_queries())
    await store.start()
    try:
        await store.bootstrap()
        embedded = store.embedded  # type: ignore[attr-defined]
        server = embedded.handle.pid
        # The restart is held back until the load gives up on the store, so the crash
        # outlasts the client's own reconnect retries and cuts the load off.
        held = True
        real_binaries = embedded_module._binaries

        def binaries() -> tuple[Path, Path]:
            if held:
                raise StoreUnavailableError("restart held back by the test")
            return real_binaries()

        monkeypatch.setattr(embedded_module, "_binaries", binaries)
        real_wait = store.wait_available

        async def wait_available(timeout_s: float | None = None) -> bool:
            nonlocal held
            held = False
            return await real_wait(timeout_s)

        monkeypatch.setattr(store, "wait_available", wait_available)
        batches = 0

        def progress(system: str, done: int, total: int) -> None:
            nonlocal batches
            batches += 1
            if batches == 2:
                os.kill(server, signal.SIGKILL)

        with pytest.raises(StoreUnavailableError, match="marked failed, run it again"):
            await load_extract(store, folder, batch_size=5, progress=progress)
        assert batches >= 2 and not held
        assert embedded.restarts >= 1 and embedded.handle.pid != server
        [cut] = await list_loads(store)
        assert cut["status"] == "failed"

        report = await load_extract(store, folder, batch_size=5)
        assert report.status == "completed"
        assert report.files and report.rows_read > 0
        for name, file in report.files.items():
            assert file.read == file.loaded + file.quarantined, name
        [done] = await list_loads(store)
        assert done["status"] == "completed"
        assert [f["read"] for f in done["files"]] == [
            f["loaded"] + f["quarantined"] for f in done["files"]
        ]
        nodes, _ = await snapshot(store)
    finally:
        await store.close()
    names = set()
    for _labels, props in nodes:
        for key, value in props:
            if key in ("forename", "surname") and isinstance(value, str) and len(value) > 3:
                names.add(value)
    assert names, "the extract's names were loaded"
    store_log = (settings.data_dir / "falkordb.log").read_text(encoding="utf-8", errors="replace")
    assert "restarting it from its append-only file" in caplog.text
    for name in names:
        assert name not in caplog.text
        assert name not in store_log


async def test_a_guest_of_the_store_follows_its_owners_restart(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    async with create_store(settings, with_test_queries()) as owner:
        async with create_store(settings, with_test_queries()) as guest:
            assert not guest.embedded.handle.owner  # type: ignore[attr-defined]
            assert (await guest.liveness()).ok and (await guest.health()).ok
            await owner.bootstrap()
            await owner.execute("source_records_upsert", rows=[{"key": "s:k:g", "surname": "G"}])
            server = owner.embedded.handle.pid  # type: ignore[attr-defined]
            os.kill(server, signal.SIGKILL)
            assert await owner.wait_available(60)
            assert await guest.wait_available(60)
            assert owner.embedded.restarts == 1  # type: ignore[attr-defined]
            rows = await guest.query("source_record_get", key="s:k:g")
            assert rows[0]["record"]["surname"] == "G"
        assert (await owner.liveness()).ok  # the guest left the owner's server running
        restarted = owner.embedded.handle.pid  # type: ignore[attr-defined]
        assert restarted != server and not _alive(server)
    assert not _alive(restarted), "closing the owner stops the restarted server"


async def test_a_wedged_store_is_killed_and_restarted_by_its_supervisor(tmp_path: Path) -> None:
    """A server that lives but answers nothing (SIGSTOP stands in for FalkorDB stuck
    on its own lock) is killed after the hang timeout and restarted with its data; the
    query that waited on it fails with a connection error instead of hanging."""
    settings = Settings(data_dir=tmp_path / "data", store_hang_timeout_s=3.0)
    async with create_store(settings, with_test_queries()) as store:
        await store.bootstrap()
        await store.execute("source_records_upsert", rows=[{"key": "s:k:w", "surname": "W"}])
        embedded = store.embedded  # type: ignore[attr-defined]
        wedged = embedded.handle.pid
        os.kill(wedged, signal.SIGSTOP)
        try:
            with pytest.raises(StoreUnavailableError):
                async with asyncio.timeout(60):
                    await store.query("source_record_get", key="s:k:w")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(wedged, signal.SIGCONT)
        assert await store.wait_available(60)
        assert (embedded.hangs, embedded.restarts) == (1, 1)
        assert embedded.handle.pid != wedged and not _alive(wedged)
        rows = await store.query("source_record_get", key="s:k:w")
        assert rows[0]["record"]["surname"] == "W"
        restarted = embedded.handle.pid
    assert not _alive(restarted)


async def test_a_live_store_is_not_taken_for_a_wedged_one(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", store_hang_timeout_s=1.0)
    async with create_store(settings, with_test_queries()) as store:
        await store.bootstrap()
        pid = store.embedded.handle.pid  # type: ignore[attr-defined]
        for i in range(20):  # ~5 s: two probe intervals past the timeout, the server busy
            await store.execute("source_records_upsert", rows=[{"key": f"s:k:{i}"}])
            await asyncio.sleep(0.25)
        assert store.embedded.hangs == 0  # type: ignore[attr-defined]
        assert store.embedded.handle.pid == pid  # type: ignore[attr-defined]


async def test_a_bulk_loaded_store_restarts_from_its_append_only_file(tmp_path: Path) -> None:
    """GRAPH.BULK followed by ordinary writes once made the store unable to start again."""
    folders = make_population(tmp_path / "pop", households=3, seed=5).extracts()
    settings = Settings(data_dir=tmp_path / "data")
    async with create_store(settings, with_test_queries()) as store:
        await store.bootstrap()
        await bulk_load_extracts(store, folders)
        before = await snapshot(store)
    for key in ("s:k:after-1", "s:k:after-2"):  # each session replays the file, then writes
        async with create_store(settings, with_test_queries()) as store:
            await store.execute("source_records_upsert", rows=[{"key": key, "surname": "A"}])
    async with create_store(settings, with_test_queries()) as store:
        for key in ("s:k:after-1", "s:k:after-2"):
            assert (await store.query("source_record_get", key=key))[0]["record"]["surname"] == "A"
        nodes, _ = await snapshot(store)
    assert len(nodes) == len(before[0]) + 2


async def test_a_guest_runs_the_store_once_its_owner_has_stopped(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    owner = create_store(settings, with_test_queries())
    guest = create_store(settings, with_test_queries())
    await owner.start()
    try:
        await owner.bootstrap()
        await owner.execute("source_records_upsert", rows=[{"key": "s:k:t", "surname": "T"}])
        await guest.start()
        assert not guest.embedded.handle.owner  # type: ignore[attr-defined]
        first = owner.embedded.handle.pid  # type: ignore[attr-defined]
        await owner.close()  # e.g. the load that started the store ends
        assert not _alive(first)
        assert await guest.wait_available(60)
        # the new server answers a moment before the guest's watch thread records it
        deadline = time.monotonic() + 10
        while not guest.embedded.handle.owner and time.monotonic() < deadline:  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)
        assert guest.embedded.handle.owner  # type: ignore[attr-defined]
        server = guest.embedded.handle.pid  # type: ignore[attr-defined]
        assert server != first and _alive(server)
        rows = await guest.query("source_record_get", key="s:k:t")
        assert rows[0]["record"]["surname"] == "T"
    finally:
        await owner.close()
        await guest.close()
    assert not _alive(server), "the guest that took over stops the store on close"
    assert not (settings.data_dir / OWNER_FILE).exists()


def test_a_guest_runs_the_store_once_its_owner_was_killed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    owner_script = (
        "import sys, time; from pathlib import Path; "
        "from cpgraph.store.embedded import EmbeddedFalkorDB; "
        f"h = EmbeddedFalkorDB(Path({str(data_dir)!r})).start(); "
        "print(h.pid, flush=True); time.sleep(120)"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", owner_script], stdout=subprocess.PIPE, text=True
    )
    guest = embedded_module.EmbeddedFalkorDB(data_dir)
    try:
        first = int(owner.stdout.readline())  # type: ignore[union-attr]
        handle = guest.start()
        assert not handle.owner
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
        deadline = time.monotonic() + 60
        while not (guest.handle is not None and guest.handle.owner and guest.running):
            assert time.monotonic() < deadline, "the guest never took the store over"
            time.sleep(0.05)
        assert not _alive(first)
        server = guest.handle.pid
        assert embedded_module._ping(guest.handle.socket_path)
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        guest.stop()
    assert not _alive(server)
