"""Linkage speed bench: cpgraph's engine vs Splink 5 (DuckDB) on the same records.

For each size (person mentions) a generated population of about that many mentions is
made with ``cpgraph generate``, loaded once into a temporary embedded store through the
real loaders and read back with ``LinkageService.read()`` (cached as a pickle under
``bench/data/``, gitignored).  Each engine then runs in its own subprocess on the same
mentions so that its wall time and peak memory (``ru_maxrss``) are its own:

* cpgraph: ``LinkageEngine.link(mentions, relationships)`` — model training (u sampling,
  EM sessions), blocking, scoring, clustering with relationship rounds and cohesion
  checks, stable ids and per-mention weight breakdowns: everything ``cpgraph link`` asks
  of the engine;
* Splink 5 on DuckDB with the same script's standard settings as the accuracy bench
  (``bench/linkage_accuracy.py``): prior from a deterministic rule, u by random sampling
  (1e6 pairs), two EM sessions, predict, cluster at 0.95.

Both use the machine's cores (rapidfuzz ``workers``, DuckDB threads).  Usage::

    .venv/bin/python bench/linkage_speed.py --sizes 100000 1000000
    .venv/bin/python bench/linkage_speed.py --sizes 100000 --engines cpgraph

Prints one line per (size, engine) and a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MENTIONS_PER_HOUSEHOLD = 11.7  # measured: 20,000 households → 234,242 mentions


def households_for(size: int) -> int:
    """Households that give about ``size`` person mentions."""
    return max(1, round(size / MENTIONS_PER_HOUSEHOLD))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(engine: str, pkl: Path, truth: Path | None, workers: int) -> dict:
    """Run one engine on the cached mentions; report wall time and peak memory."""
    import pickle

    import pandas as pd

    with pkl.open("rb") as fh:
        mentions, rels = pickle.load(fh)  # noqa: S301 — our own cache
    base_rss = _rss_mb()
    t = time.perf_counter()
    info: dict = {}
    if engine == "cpgraph":
        from cpgraph.linkage import LinkageEngine

        eng = LinkageEngine(workers=workers)
        res = eng.link(mentions, rels[["from_key", "to_key", "relationship", "lives_with"]])
        wall = time.perf_counter() - t
        pred = pd.Series(res.assignments["person_id"].to_numpy(), index=res.assignments["key"])
        info = {
            "timings": {k: round(v, 2) for k, v in res.timings.items()},
            "compared_pairs": res.summary["compared_pairs"],
            "persons": res.summary["persons"],
        }
    else:
        from linkage_accuracy import run_splink_generated

        pred, sinfo = run_splink_generated(mentions)
        wall = time.perf_counter() - t
        info = {"persons": int(pred.nunique())}
    out = {
        "engine": engine,
        "mentions": len(mentions),
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(_rss_mb(), 0),
        "rss_after_load_mb": round(base_rss, 0),
        **info,
    }
    if truth is not None:
        from linkage_accuracy import evaluate_generated

        r = evaluate_generated(pred, truth.parent, mentions)
        out.update({k: round(r[k], 4) for k in ("precision", "recall", "f1")})
        out["hard_negative_merges"] = r["hard_negative_merges"]
    return out


def machine() -> dict:
    """What the figures were measured on."""
    mem = 0.0
    try:
        with open("/proc/meminfo") as fh:
            mem = int(fh.readline().split()[1]) / 2**20
    except OSError:
        pass
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "mem_gb": round(mem, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the bench (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--engines", nargs="*", default=["cpgraph", "splink"])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-eval", action="store_true", help="skip accuracy figures")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--worker", choices=["cpgraph", "splink"], help=argparse.SUPPRESS)
    ap.add_argument("--pickle", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--truth", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.pickle, args.truth, args.workers)))
        return 0

    from linkage_accuracy import ensure_generated, load_generated

    out: dict = {"machine": machine(), "runs": []}
    print(json.dumps(out["machine"]), flush=True)
    for size in args.sizes:
        hh = households_for(size)
        t = time.perf_counter()
        folder = ensure_generated(hh, args.seed)
        mentions, _ = load_generated(folder)
        print(
            f"size {size:,}: {hh:,} households → {len(mentions):,} mentions "
            f"(data ready in {time.perf_counter() - t:.0f}s)",
            flush=True,
        )
        del mentions
        for engine in args.engines:
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                engine,
                "--pickle",
                str(folder.with_suffix(".pkl")),
                "--workers",
                str(args.workers),
            ]
            if not args.no_eval:
                cmd += ["--truth", str(folder / "truth.csv")]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                print(p.stderr[-3000:], file=sys.stderr)
                r = {"engine": engine, "error": p.returncode}
            else:
                r = json.loads(p.stdout.strip().splitlines()[-1])
            r["size"] = size
            out["runs"].append(r)
            print(
                f"{size:>9,} {engine:8s} wall={r.get('wall_s')}s "
                f"peak={r.get('peak_rss_mb')}MB (after load {r.get('rss_after_load_mb')}MB) "
                f"P={r.get('precision')} R={r.get('recall')} "
                f"timings={r.get('timings', '')}",
                flush=True,
            )
    text = json.dumps(out, indent=2, default=str)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
