"""The embedded FalkorDB process: durability, sharing, and never outliving its owner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cpgraph.config import Settings
from cpgraph.store import create_store, embedded
from cpgraph.store.embedded import OWNER_FILE, EmbeddedFalkorDB, aof_sizes
from tests.queries import with_test_queries

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


async def test_data_survives_restart_and_close_stops_server(falkordb_settings: Settings) -> None:
    store = create_store(falkordb_settings, with_test_queries())
    await store.start()
    await store.bootstrap()
    await store.execute("source_records_upsert", rows=[{"key": "s:k:1", "surname": "Durable"}])
    pid = store.embedded.handle.pid  # type: ignore[attr-defined]
    assert _alive(pid)
    await store.close()
    assert _wait_gone(pid), "closing the store must stop the database process"
    assert (falkordb_settings.data_dir / "appendonlydir").is_dir()

    again = create_store(falkordb_settings, with_test_queries())
    await again.start()
    try:
        rows = await again.query("source_record_get", key="s:k:1")
        assert rows[0]["record"]["surname"] == "Durable"
    finally:
        await again.close()


async def test_a_stop_compacts_a_grown_append_only_file(
    falkordb_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop after many writes leaves a snapshot and an empty log (the next start loads
    the snapshot instead of replaying the writes), with every write in it; a stop after
    a few small writes leaves the files alone."""
    data_dir = falkordb_settings.data_dir
    store = create_store(falkordb_settings, with_test_queries())
    await store.start()
    await store.bootstrap()
    await store.close()
    base, log_part = aof_sizes(data_dir)
    assert base > 0 or log_part > 0  # (what bootstrap wrote is somewhere)

    store = create_store(falkordb_settings, with_test_queries())
    await store.start()
    rows = [{"key": f"s:k:{n}", "surname": f"Name{n}"} for n in range(300)]
    await store.execute("source_records_upsert", rows=rows)
    await store.close()
    small = aof_sizes(data_dir)
    assert small[1] > log_part  # below the threshold: the log kept as it is

    monkeypatch.setattr(embedded, "AOF_COMPACT_MIN_BYTES", 1)
    store = create_store(falkordb_settings, with_test_queries())
    await store.start()
    await store.execute("source_records_upsert", rows=[{"key": "s:k:last", "surname": "Last"}])
    await store.close()
    after = aof_sizes(data_dir)
    assert after[1] == 0 and after[0] > 0

    again = create_store(falkordb_settings, with_test_queries())
    await again.start()
    try:
        for key, name in (("s:k:0", "Name0"), ("s:k:299", "Name299"), ("s:k:last", "Last")):
            assert (await again.query("source_record_get", key=key))[0]["record"]["surname"] == name
    finally:
        await again.close()


async def test_second_process_shares_the_running_store(falkordb_settings: Settings) -> None:
    store = create_store(falkordb_settings, with_test_queries())
    await store.start()
    try:
        await store.bootstrap()
        await store.execute("source_records_upsert", rows=[{"key": "s:k:2", "surname": "Shared"}])
        owner_pid = store.embedded.handle.pid  # type: ignore[attr-defined]
        env = {**os.environ, "CPGRAPH_DATA_DIR": str(falkordb_settings.data_dir)}
        done = subprocess.run(
            [sys.executable, "-m", "cpgraph.cli", "db", "status"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "SourceRecord" in done.stdout
        # The guest did not start (or stop) a server of its own.
        assert _alive(owner_pid)
        rows = await store.query("source_record_get", key="s:k:2")
        assert rows[0]["record"]["surname"] == "Shared"
    finally:
        await store.close()


def test_server_dies_with_its_owner_and_next_start_recovers(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from cpgraph.store.embedded import EmbeddedFalkorDB
        handle = EmbeddedFalkorDB(Path({str(data_dir)!r})).start()
        print(handle.pid, flush=True)
        time.sleep(120)
        """
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        server_pid = int(owner.stdout.readline())  # type: ignore[union-attr]
        assert _alive(server_pid)
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
        assert _wait_gone(server_pid), "the server must not outlive a killed owner"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
    assert (data_dir / OWNER_FILE).exists()  # stale, left by the killed owner
    fresh = EmbeddedFalkorDB(data_dir)
    handle = fresh.start()
    try:
        assert handle.owner and _alive(handle.pid)
    finally:
        fresh.stop()
    assert _wait_gone(handle.pid)
    assert not (data_dir / OWNER_FILE).exists()


def test_long_data_dir_uses_short_socket_path(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    server = EmbeddedFalkorDB(deep)
    assert len(server.socket_path) <= 100
    handle = server.start()
    try:
        assert handle.owner
    finally:
        server.stop()
