"""A load killed with SIGKILL half-way, then re-run, ends as a clean load does."""

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
from cpgraph.ingest import list_loads, load_extract
from cpgraph.ingest.owner import INTERRUPTED
from cpgraph.store import create_store
from tests.integration.ingest.conftest import extract_folders, snapshot
from tests.queries import with_test_queries

pytestmark = pytest.mark.integration

# Loads one extract in small batches, slowed down so the test can kill it half-way.
_LOADER = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from cpgraph.config import Settings
    from cpgraph.store import create_store
    from cpgraph.ingest import load_extract

    def progress(system, done, total):
        print(f"batch {done}/{total}", flush=True)
        time.sleep(0.05)

    async def main():
        async with create_store(Settings(data_dir=Path(sys.argv[1]))) as store:
            await store.bootstrap()
            await load_extract(store, sys.argv[2], batch_size=10, progress=progress)
        print("done", flush=True)

    asyncio.run(main())
    """
)


async def test_kill_9_mid_load_then_rerun(generated: Path, tmp_path: Path) -> None:
    folder = extract_folders(generated, "education")[0]
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    proc = subprocess.Popen(
        [sys.executable, "-c", _LOADER, str(killed_dir), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        assert proc.stdout is not None
        seen = 0
        deadline = time.monotonic() + 120
        for line in proc.stdout:
            seen += line.startswith("batch")
            if seen >= 5 or time.monotonic() > deadline:
                break
        assert seen >= 5, "the loader never got going"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    time.sleep(0.5)  # the embedded server follows its owner down (parent-death signal)

    async with create_store(Settings(data_dir=killed_dir), with_test_queries()) as store:
        loads = await list_loads(store)
        # it really was cut off, and the reader can tell its process is gone
        assert loads and loads[0]["status"] == INTERRUPTED
        await store.bootstrap()
        await load_extract(store, folder)
        after_rerun = await snapshot(store)
    async with create_store(Settings(data_dir=clean_dir), with_test_queries()) as store:
        await store.bootstrap()
        await load_extract(store, folder)
        clean = await snapshot(store)
    assert after_rerun == clean
