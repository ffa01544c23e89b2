"""Generator speed and memory: `cpgraph.generate` at 100k and 1M person mentions.

Usage:
    .venv/bin/python bench/generate_speed.py [--households 9200 84000] [--seed 7]

Each size runs in a fresh subprocess so its peak RSS is its own. Prints a
Markdown table (paste it into bench/RESULTS.md) with wall time, person mentions,
mentions per second and peak memory. Targets (issue 3): 100k mentions < 2 min,
1M < 20 min on a 2-core machine, without holding everything in memory.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from cpgraph.generate import generate
out, households, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
began = time.perf_counter()
summary = generate(out, households, seed)
seconds = time.perf_counter() - began
print(json.dumps({
    "households": households,
    "seconds": round(seconds, 1),
    "person_mentions": summary.person_mentions,
    "loadable_mentions": summary.loadable_mentions,
    "persons": summary.persons,
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
}))
"""


def run(households: int, seed: int) -> dict[str, float]:
    """Generate `households` into a temporary folder in a subprocess; return its figures."""
    out = Path(tempfile.mkdtemp(prefix="cpgraph-gen-bench-"))
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(out / "x"), str(households), str(seed)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    """Run the sizes asked for and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, nargs="+", default=[9200, 84000])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.python_version()}, "
          f"command: {' '.join(sys.argv)}")  # fmt: skip
    print("| households | person mentions | wall | mentions/s | peak RSS |")
    print("|---|---|---|---|---|")
    for households in args.households:
        r = run(households, args.seed)
        rate = r["person_mentions"] / r["seconds"]
        print(
            f"| {households:,} | {r['person_mentions']:,} | {r['seconds']:.1f} s | "
            f"{rate:,.0f} | {r['peak_rss_mb']} MB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
