"""Load speed: generated extracts of ~100k person mentions into the embedded FalkorDB.

Usage:
    .venv/bin/python bench/load_speed.py --households 8600 [--batch-size 5000] [--out DIR]

Generates the extracts once (reused from --out if already there), loads every
extract folder into a fresh embedded store, and prints person mentions per
second, rows per second, the time per agency, CPU seconds of the loader process
and of the database server (FHIR validation workers are not included), the
machine's load average (other work on a shared machine slows every figure), and
the peak memory of the loader and of the database server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from cpgraph.config import Settings
from cpgraph.ingest import load_extracts
from cpgraph.store import create_store


def _server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "manifest.json").is_file())


async def _run(root: Path, batch_size: int) -> dict[str, object]:
    data_dir = Path(tempfile.mkdtemp(prefix="cpgraph-bench-"))
    try:
        async with create_store(Settings(data_dir=data_dir, batch_size=batch_size)) as store:
            await store.bootstrap()
            server_pid = store.embedded.handle.pid  # type: ignore[attr-defined]
            load_before = os.getloadavg()[0]
            server_cpu = _server_cpu_s(server_pid)
            loader_cpu = time.process_time()
            began = time.perf_counter()
            reports = await load_extracts(store, _folders(root))
            seconds = time.perf_counter() - began
            loader_cpu = time.process_time() - loader_cpu
            server_cpu = _server_cpu_s(server_pid) - server_cpu
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
            "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "loader_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
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
