"""What one `cpgraph link` writes: rows per write query, and where its time goes.

Runs in process what ``cpgraph link`` runs (link, flags, the queue's flagged marks) on
an embedded store's data directory, counting the rows of every batched write by query
and timing every named query; prints one JSON line. Use it on a copy: the store is
changed as by the command.

Usage::

    .venv/bin/python bench/link_writes.py /tmp/inc/copy            # incremental
    .venv/bin/python bench/link_writes.py /tmp/inc/copy --full
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from cpgraph.config import Backend, Settings
from cpgraph.flags.service import compute_flags
from cpgraph.steward.linking import linkage_service
from cpgraph.steward.queue import refresh_flagged
from cpgraph.store import create_store


async def measure(data_dir: Path, full: bool) -> dict[str, Any]:
    """Link (and flag) the store in ``data_dir``; rows written, stage and query times."""
    settings = Settings(backend=Backend.FALKORDB, data_dir=data_dir, falkordb_url=None)
    store = create_store(settings)
    t0 = time.perf_counter()
    await store.start()
    started = time.perf_counter() - t0
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}

    def timed(method: str) -> None:
        inner = getattr(store, method)

        async def wrapper(name: str, *args: Any, **kw: Any) -> Any:
            if method == "write_batches":
                args = (list(args[0]), *args[1:])
                rows[name] = rows.get(name, 0) + len(args[0])
            t = time.perf_counter()
            try:
                return await inner(name, *args, **kw)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t

        setattr(store, method, wrapper)

    for method in ("query", "write_batches", "execute"):
        timed(method)
    try:
        report = await linkage_service(store, settings).link(full=full)
        t = time.perf_counter()
        flags = await compute_flags(store)
        flags_s = time.perf_counter() - t
        t = time.perf_counter()
        await refresh_flagged(store)
        marks_s = time.perf_counter() - t
    finally:
        await store.close()
    slowest = sorted(seconds.items(), key=lambda kv: -kv[1])[:8]
    return {
        "store_start_s": round(started, 1),
        "incremental": report.incremental,
        "stages_s": {k: round(v, 1) for k, v in report.timings.items()},
        "flags_s": round(flags_s, 1),
        "flagged_marks_s": round(marks_s, 1),
        "flags_written": flags.written,
        "flags_deleted": flags.deleted,
        "rows_written": rows,
        "slowest_queries_s": {k: round(v, 2) for k, v in slowest},
    }


def main() -> None:
    """Run the measurement (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path, help="an embedded store's data dir (a copy)")
    ap.add_argument("--full", action="store_true", help="cpgraph link --full")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(measure(args.data_dir, args.full))))


if __name__ == "__main__":
    main()
