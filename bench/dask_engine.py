"""Dask engine bench: candidate pairs per second, local engine vs a Dask LocalCluster.

A generated population (``bench/linkage_speed.py``'s data: generated, loaded through the
real loaders into an embedded store and read back, cached under ``bench/data/``) is
linked once by the local engine, which trains the model; then the local engine and the
Dask engine (``LocalCluster`` of 1 and of 2 single-threaded worker processes) link it
again with that model, so only blocking, comparison and scoring differ.  The figure is
the score stage's candidate pairs per second (``block`` + ``score`` timings: for Dask
they include writing the Parquet tables, scheduling, each worker building its comparer,
and gathering the kept edges), and per worker; each cluster links twice (cold: fresh
worker processes; warm: the same workers again).  Each run's assignments are checked equal
to the local engine's.  Usage::

    .venv/bin/python bench/dask_engine.py --households 9200   # 106,568 mentions
    .venv/bin/python bench/dask_engine.py --size 25000 --workers 2

Prints one line per run and a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

REL_COLUMNS = ["from_key", "to_key", "relationship", "lives_with"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _worker_rss(client) -> list[float]:
    import psutil

    return [
        round(v / 2**20) for v in client.run(lambda: psutil.Process().memory_info().rss).values()
    ]


def _task_seconds(stream: list[dict]) -> dict[str, float]:
    """Compute seconds per kind of task (summed over workers)."""
    out: dict[str, float] = {}
    for task in stream:
        kind = str(task["key"]).split("-")[0].strip("('\"")
        for part in task.get("startstops", ()):
            if part["action"] == "compute":
                out[kind] = out.get(kind, 0.0) + part["stop"] - part["start"]
    return {k: round(v, 2) for k, v in sorted(out.items(), key=lambda x: -x[1])}


def main(argv: list[str] | None = None) -> int:
    """Run the bench (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000, help="person mentions (about)")
    ap.add_argument("--households", type=int, default=None, help="instead of --size")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    import pandas as pd
    from distributed import Client, get_task_stream
    from linkage_accuracy import ensure_generated, load_generated
    from linkage_speed import households_for, machine

    from cpgraph.linkage import LinkageEngine
    from cpgraph.linkage.distributed import DaskLinkageEngine, DaskOptions, local_cluster

    hh = args.households or households_for(args.size)
    folder = ensure_generated(hh, args.seed)
    mentions, rels = load_generated(folder)
    rels = rels[REL_COLUMNS]
    load = os.getloadavg()[0]
    out: dict = {"machine": machine(), "mentions": len(mentions), "load_avg_1m": load, "runs": []}
    print(f"{len(mentions):,} mentions ({hh:,} households); load average {load:.1f}", flush=True)

    t = time.perf_counter()
    trained = LinkageEngine(workers=1).link(mentions, rels)
    print(f"training run: {time.perf_counter() - t:.0f}s", flush=True)
    model = trained.model
    expected = trained.assignments

    def record(name: str, workers: int, res, wall: float, extra: dict) -> None:
        pairs = res.summary["compared_pairs"]
        stage = res.timings["block"] + res.timings["score"]
        same = res.assignments.equals(expected) and res.review.equals(trained.review)
        row = {
            "engine": name,
            "workers": workers,
            "pairs": pairs,
            "kept_edges": len(res.state.edges),
            "score_stage_s": round(stage, 1),
            "pairs_per_s": round(pairs / stage),
            "pairs_per_s_per_worker": round(pairs / stage / workers),
            "wall_s": round(wall, 1),
            "equal_to_local": bool(same),
            "timings": {k: round(v, 2) for k, v in res.timings.items()},
            **extra,
        }
        out["runs"].append(row)
        print(
            f"{name:12s} workers={workers} pairs={pairs:,} score stage={stage:.1f}s "
            f"→ {row['pairs_per_s']:,}/s ({row['pairs_per_s_per_worker']:,}/s per worker) "
            f"wall={wall:.1f}s equal={same} {extra}",
            flush=True,
        )

    t = time.perf_counter()
    res = LinkageEngine(workers=1).link(mentions, rels, model=model)
    record("local", 1, res, time.perf_counter() - t, {"driver_peak_rss_mb": round(_rss_mb())})
    del res

    for n in args.workers:
        with (
            tempfile.TemporaryDirectory(prefix="cpgraph-dask-bench-") as work,
            local_cluster(n, 1) as cluster,
            Client(cluster) as client,
        ):
            client.wait_for_workers(n)
            eng = DaskLinkageEngine(
                workers=1, client=client, options=DaskOptions(work_dir=Path(work))
            )
            # cold: the workers import cpgraph and build their name tables on the way;
            # warm: a second run on the same cluster (a long-lived cluster's case)
            for phase in ("cold", "warm"):
                t = time.perf_counter()
                with get_task_stream(client) as stream:
                    res = eng.link(mentions, rels, model=model)
                wall = time.perf_counter() - t
                info = eng.info
                record(
                    f"dask ({phase})",
                    n,
                    res,
                    wall,
                    {
                        "partitions": info.partitions if info else None,
                        "join_tasks": info.tasks if info else None,
                        "largest_component": info.largest_component if info else None,
                        "worker_rss_mb_after": _worker_rss(client),
                        "task_seconds": _task_seconds(stream.data),
                    },
                )
                del res
    pd.set_option("display.width", 200)
    text = json.dumps(out, indent=2, default=str)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
