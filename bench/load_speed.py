"""Load speed: generated extracts of ~100k person mentions into the embedded FalkorDB.

Usage:
    .venv/bin/python bench/load_speed.py --households 8600 [--batch-size 5000] [--out DIR]

Generates the extracts once (reused from --out if already there), loads every
extract folder into a fresh embedded store, and prints person mentions per
second, rows per second, the time per agency, CPU seconds of the loader process,
of the database server and of the FHIR validation worker processes (sampled from
/proc every 0.25 s), the machine's load average (other work on a shared machine
slows every figure), and the peak memory of the loader (during the load only),
the FHIR workers and the database server. Only the load is timed: generation,
store start and bootstrap happen before the clock starts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path

from cpgraph.config import Settings
from cpgraph.ingest import load_extracts
from cpgraph.store import create_store


def _server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int | str) -> float:
    """A process's peak resident memory (VmHWM) in MB, or 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class _Descendants:
    """Samples CPU seconds and peak memory of this process's descendants, but one.

    Every 0.25 s it walks /proc for processes descended from this one (FHIR
    worker pool, its fork server), skipping the database server, and keeps the
    last CPU figure and peak memory seen for each. Its own CPU time
    (``own_cpu``) is taken out of the loader's figure.
    """

    def __init__(self, skip: int) -> None:
        self.skip = skip
        self.cpu: dict[int, float] = {}
        self.rss: dict[int, float] = {}
        self.own_cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry)] = int(stat[1])
        mine = {os.getpid()}
        changed = True
        while changed:
            changed = False
            for pid, parent in parents.items():
                if parent in mine and pid not in mine and pid != self.skip:
                    mine.add(pid)
                    changed = True
        for pid in mine - {os.getpid()}:
            try:
                self.cpu[pid] = _server_cpu_s(pid)
            except (OSError, IndexError):
                continue
            self.rss[pid] = max(self.rss.get(pid, 0.0), _peak_rss_mb(pid))

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self._sample()
        self._sample()
        self.own_cpu = time.thread_time()

    def __enter__(self) -> _Descendants:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "manifest.json").is_file())


async def _run(root: Path, batch_size: int) -> dict[str, object]:
    data_dir = Path(tempfile.mkdtemp(prefix="cpgraph-bench-"))
    try:
        async with create_store(Settings(data_dir=data_dir, batch_size=batch_size)) as store:
            await store.bootstrap()
            server_pid = store.embedded.handle.pid  # type: ignore[attr-defined]
            folders = _folders(root)
            load_before = os.getloadavg()[0]
            # Peak memory of the load alone (not of generating the data, if that ran here).
            with contextlib.suppress(OSError):
                Path("/proc/self/clear_refs").write_text("5")
            server_cpu = _server_cpu_s(server_pid)
            loader_cpu = time.process_time()
            began = time.perf_counter()
            with _Descendants(skip=server_pid) as workers:
                reports = await load_extracts(store, folders)
            seconds = time.perf_counter() - began
            loader_cpu = time.process_time() - loader_cpu - workers.own_cpu
            server_cpu = _server_cpu_s(server_pid) - server_cpu
            loader_peak = _peak_rss_mb("self") or (
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            )
            info = await store._db.connection.info("memory")  # type: ignore[attr-defined]
        mentions = sum(r.mentions for r in reports)
        rows = sum(r.rows_read for r in reports)
        return {
            "mentions": mentions,
            "rows_read": rows,
            "events": sum(r.events for r in reports),
            "relationships": sum(r.relationships for r in reports),
            "quarantined": sum(r.rows_quarantined for r in reports),
            "seconds": round(seconds, 2),
            "mentions_per_s": round(mentions / seconds),
            "rows_per_s": round(rows / seconds),
            "batch_size": batch_size,
            "per_agency_s": {
                a: round(sum(r.seconds for r in reports if r.agency == a), 2)
                for a in sorted({r.agency for r in reports})
            },
            "per_agency_mentions": {
                a: sum(r.mentions for r in reports if r.agency == a)
                for a in sorted({r.agency for r in reports})
            },
            "loader_cpu_s": round(loader_cpu, 2),
            "db_server_cpu_s": round(server_cpu, 2),
            "fhir_workers_cpu_s": round(sum(workers.cpu.values()), 2),
            "total_cpu_s": round(loader_cpu + server_cpu + sum(workers.cpu.values()), 2),
            "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "loader_peak_rss_mb": round(loader_peak),
            "fhir_worker_peak_rss_mb": round(max(workers.rss.values(), default=0.0)),
            "db_peak_memory_mb": round(int(info.get("used_memory_peak", 0)) / 2**20),
        }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    """Parse arguments, generate if needed, load, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=8600)
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=Path("bench/.data/load_speed"))
    args = parser.parse_args()
    root = args.out / f"h{args.households}-s{args.seed}"
    if not (root / "truth.csv").exists():
        from cpgraph.generate import generate  # noqa: PLC0415 — only when generating

        began = time.perf_counter()
        generate(root, args.households, args.seed)
        print(f"generated {root} in {time.perf_counter() - began:.1f}s")
    figures = asyncio.run(_run(root, args.batch_size))
    figures["machine"] = f"{platform.machine()}, {platform.processor() or '?'}, " + (
        f"{len(os.sched_getaffinity(0))} cores available"
    )
    figures["python"] = platform.python_version()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
