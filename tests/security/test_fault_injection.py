"""Fault injection (#17 items 6 and 9): `cpgraph load`, `link` and `serve` killed at
random points leave nothing behind, and a clean re-run ends as a clean run does.

Each command runs as a user runs it (a real process, settings from CPGRAPH_*), is
sent SIGKILL at a seeded random moment, and then no process of it may survive: not
the embedded store's server, nor the FHIR pool's fork server, workers and resource
tracker, nor a forked linkage worker. Every process a command starts inherits its
environment, so a process whose environment names the test's data directory (or
whose command line does, as the store's server's does) is one of them. The data
directory's lock never blocks the next command. After the kills, a clean `load`
accounts for every row (read = loaded + quarantined, per file), `link` completes and
`serve` answers /healthz.
"""

from __future__ import annotations

import fcntl
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import cpgraph.generate.sinks as sinks
from cpgraph.config import Settings
from cpgraph.ingest import list_loads
from cpgraph.store import create_store
from cpgraph.store.embedded import LOCK_FILE
from tests.e2e.served import free_port
from tests.factories import make_population

pytestmark = pytest.mark.e2e

SEED = 20261217
# Small FHIR bundles, so the health extract has enough of them for a worker pool.
BUNDLE_SIZE = 2


def _processes_of(data_dir: Path) -> dict[int, str]:
    """Live processes (not zombies) started for `data_dir`: pid -> command line."""
    env_entry = f"CPGRAPH_DATA_DIR={data_dir}".encode()
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                if fh.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    continue
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{name}/environ", "rb") as fh:
                environ = fh.read().split(b"\0")
        except OSError:  # gone meanwhile, or not ours
            continue
        if env_entry in environ or str(data_dir) in cmdline:
            found[int(name)] = cmdline[:160]
    return found


def _wait_none_left(data_dir: Path, seconds: float = 20) -> dict[int, str]:
    deadline = time.monotonic() + seconds
    while (left := _processes_of(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _lock_is_free(data_dir: Path) -> bool:
    path = data_dir / LOCK_FILE
    if not path.exists():  # killed before it was ever taken
        return True
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing releases a lock we took
    return True


class Cli:
    """Runs `cpgraph` commands on one data directory, as separate processes."""

    def __init__(self, tmp: Path, data_dir: Path) -> None:
        self.tmp, self.data_dir = tmp, data_dir
        base = {k: v for k, v in os.environ.items() if not k.startswith(("CPGRAPH_", "NEO4J_"))}
        self.env = {
            **base,
            "CPGRAPH_DATA_DIR": str(data_dir),
            "CPGRAPH_HOST": "127.0.0.1",
        }
        self.runs = 0

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        self.runs += 1
        out = (self.tmp / f"run-{self.runs}.out").open("wb")
        with out:
            return subprocess.Popen(
                [sys.executable, "-m", "cpgraph.cli", *args],
                cwd=self.tmp,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return (self.tmp / f"run-{self.runs}.out").read_text(encoding="utf-8", errors="replace")

    def run(self, *args: str) -> str:
        proc = self.start(*args)
        assert proc.wait(timeout=300) == 0, self.output()[-3000:]
        return self.output()

    def kill(self, proc: subprocess.Popen[bytes], what: str) -> None:
        """SIGKILL `proc`; then nothing it started may live on, nor hold the lock."""
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        left = _wait_none_left(self.data_dir)
        assert not left, f"kill -9 of {what} left processes running: {left}"
        assert _lock_is_free(self.data_dir), f"kill -9 of {what} left the data dir locked"


@pytest.fixture
def population(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    monkeypatch.setattr(sinks, "BUNDLE_SIZE", BUNDLE_SIZE)
    pop = make_population(tmp_path / "pop", households=8, seed=SEED % 1000)
    bundles = list((pop.extract("uhb-fhir") / "bundles").glob("*.json"))
    assert len(bundles) >= 8, "the FHIR extract must be large enough for a worker pool"
    return pop.extracts()


def _wait_for(proc: subprocess.Popen[bytes], found: Iterator[bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        if next(found):
            return True
        time.sleep(0.05)
    return False


def _pool_workers_of(data_dir: Path) -> Iterator[bool]:
    """True once the fork server has forked a worker (they share its command line)."""
    while True:
        yield sum("forkserver" in cmd for cmd in _processes_of(data_dir).values()) >= 2


async def test_kill_9_at_random_points_leaves_nothing_and_a_clean_rerun_completes(
    tmp_path: Path, population: list[Path]
) -> None:
    rng = random.Random(SEED)
    data_dir = (tmp_path / "data").resolve()
    cli = Cli(tmp_path, data_dir)
    folders = [str(f) for f in population]

    # load: at a random moment, then while its FHIR worker pool runs
    proc = cli.start("load", *folders)
    time.sleep(rng.uniform(0.0, 5.0))
    cli.kill(proc, "load")
    proc = cli.start("load", *folders)
    pool_ran = _wait_for(proc, _pool_workers_of(data_dir), 120)
    time.sleep(rng.uniform(0.0, 0.3))
    cli.kill(proc, "load (FHIR pool)")
    assert pool_ran, "the load never started its FHIR worker pool"

    out = cli.run("load", *folders)
    summary = re.search(r"([\d,]+) rows read = ([\d,]+) loaded \+ ([\d,]+) quarantined", out)
    assert summary, out[-2000:]
    read, loaded, quarantined = (int(g.replace(",", "")) for g in summary.groups())
    assert read == loaded + quarantined and read > 0

    # link: at a random moment, then to the end
    proc = cli.start("link")
    time.sleep(rng.uniform(1.0, 10.0))
    cli.kill(proc, "link")
    assert "persons" in cli.run("link")

    # serve: during start-up at a random moment, then once it answers
    port = free_port()
    proc = cli.start("serve", "--port", str(port))
    time.sleep(rng.uniform(0.5, 4.0))
    cli.kill(proc, "serve")
    proc = cli.start("serve", "--port", str(port))
    try:
        deadline = time.monotonic() + 120
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            while True:
                try:
                    probe = http.get("/healthz")
                    if probe.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, cli.output()[-3000:]
                assert time.monotonic() < deadline, "serve never answered /healthz"
                time.sleep(0.2)
        assert probe.json() == {"status": "ok"}
        time.sleep(rng.uniform(0.0, 1.0))
    finally:
        cli.kill(proc, "serve")

    # every extract's load completed, and accounts for every row of every file
    async with create_store(Settings(data_dir=data_dir)) as store:
        loads = await list_loads(store)
    assert len(loads) == len(folders)
    for load in loads:
        assert load["status"] == "completed", load["load_id"]
        assert load["files"], load["load_id"]
        for file in load["files"]:
            assert file["read"] == file["loaded"] + file["quarantined"], (load["load_id"], file)
    assert not _wait_none_left(data_dir)
