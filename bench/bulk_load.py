"""Bulk initial load versus the normal load: the real `cpgraph load` command, end to end.

Usage:
    .venv/bin/python bench/bulk_load.py [--sizes 100k 1m] [--modes bulk normal]
        [--root /tmp/cpgraph-bulk-bench] [--runs 1] [--timeline FILE]

For each size it generates the extracts once (``cpgraph generate --seed 5`` into
``--root``, reused when already there; never into the repository), then for each
mode runs ``cpgraph load --bulk always|never <every extract>`` as a subprocess on a
fresh data directory and reports: person mentions, wall seconds, mentions per
second, CPU seconds (user + system) summed over the command and every process
under it (the embedded FalkorDB server, the FHIR worker pool, the CSV extracts' reader
processes and their fork server),
and the peak of the summed RSS of those processes, both sampled every 0.1 s. The
machine's load average is printed too: on a shared machine wall time swings with
it, CPU seconds much less. ``--timeline`` also writes each role's CPU second by
second and prints how long one role alone kept a core busy (the serial stretches a
second core cannot help with).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
CPGRAPH = REPO / ".venv" / "bin" / "cpgraph"
#: Households per size: about 11.7 person mentions each (seed 5).
SIZES = {"10k": 850, "100k": 8_500, "1m": 85_000}


def _generate(root: Path, size: str) -> Path:
    out = root / f"pop-{size}"
    if (out / "generate.json").is_file():
        return out
    if out.exists():
        raise SystemExit(f"{out} has no generate.json (being generated, or cut short): remove it")
    cmd = [str(CPGRAPH), "generate", "--out", str(out), "--households", str(SIZES[size])]
    subprocess.run([*cmd, "--seed", "5"], check=True, stdout=subprocess.DEVNULL)
    return out


def _extracts(pop: Path) -> list[str]:
    return sorted(str(p) for p in pop.iterdir() if (p / "manifest.json").is_file())


def _role(proc: psutil.Process, root: int) -> str:
    """``loader`` (the command), ``store`` (redis-server and its forks) or ``workers``.

    Workers: the fork server's children, FHIR validation and the bulk load's CSV readers
    (``cpgraph.ingest.ahead``); their command lines are the fork server's, so they are
    counted together.
    """
    if proc.pid == root:
        return "loader"
    try:
        chain = [proc, *proc.parents()]
        return "store" if any("redis" in p.name() for p in chain) else "workers"
    except psutil.Error:
        return "workers"


Timeline = list[tuple[float, dict[str, float]]]


def _run(
    cmd: list[str], env: dict[str, str], timeline: Timeline | None = None
) -> tuple[float, dict[str, float], float, str]:
    """Run ``cmd``; return (wall s, CPU s by role, peak summed RSS MB, output).

    ``timeline``: if given, gets ``(seconds since start, CPU s by role so far)`` about
    once a second (see :func:`_alone`).
    """
    log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 — read after the run
    began = time.perf_counter()
    proc = psutil.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    cpu: dict[tuple[int, float], tuple[str, float]] = {}
    peak = 0.0
    while True:
        try:
            procs = [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            procs = []
        rss = 0
        for p in procs:
            try:
                with p.oneshot():
                    times = p.cpu_times()
                    key = (p.pid, p.create_time())
                    # settled roles only: a process seen between fork and exec (the
                    # store's server, started from a Python thread) looks like a worker
                    known = cpu.get(key, ("", 0.0))[0]
                    role = known if known in ("loader", "store") else _role(p, proc.pid)
                    cpu[key] = (role, times.user + times.system)
                    rss += p.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        peak = max(peak, rss / 2**20)
        now = time.perf_counter() - began
        if timeline is not None and (not timeline or now - timeline[-1][0] >= 1.0):
            timeline.append((now, _by_role(cpu)))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    wall = time.perf_counter() - began
    log.seek(0)
    output = log.read()
    log.close()
    if proc.returncode != 0:
        sys.stderr.write(output[-4000:])
        raise SystemExit(f"{' '.join(cmd[:3])} failed with exit code {proc.returncode}")
    return wall, _by_role(cpu), peak, output


def _by_role(cpu: dict[tuple[int, float], tuple[str, float]]) -> dict[str, float]:
    roles: dict[str, float] = {"loader": 0.0, "store": 0.0, "workers": 0.0}
    for role, seconds in cpu.values():
        roles[role] += seconds
    return roles


def _alone(timeline: Timeline) -> dict[str, float]:
    """Wall seconds in which one role alone kept a core busy (≥ 0.8 of a core, the
    others together < 0.2): where the second core waited for it.

    (A role that dies between two samples takes its CPU with it: its last second reads
    low, so this undercounts slightly.)
    """
    out = {"loader": 0.0, "store": 0.0, "workers": 0.0}
    for (t0, a), (t1, b) in zip(timeline, timeline[1:], strict=False):
        dt = t1 - t0
        use = {r: max(b[r] - a[r], 0.0) / dt for r in out}
        for role in out:
            if use[role] >= 0.8 and sum(use.values()) - use[role] < 0.2:
                out[role] += dt
    return out


def _write_timeline(path: Path, run: str, timeline: Timeline) -> None:
    with path.open("a", encoding="utf-8") as out:
        for (t0, a), (t1, b) in zip(timeline, timeline[1:], strict=False):
            dt = t1 - t0
            busy = " ".join(f"{max(b[r] - a[r], 0.0) / dt:.2f}" for r in a)
            out.write(f"{run} {t1:.1f} {busy}\n")


def main() -> None:
    """Run the comparison and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["100k", "1m"], choices=sorted(SIZES))
    parser.add_argument("--modes", nargs="+", default=["bulk", "normal"])
    parser.add_argument("--root", type=Path, default=Path("/tmp/cpgraph-bulk-bench"))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--timeline",
        type=Path,
        help="also write each run's CPU by role, second by second, to this file "
        "(appended: run, seconds, loader, store, workers, as cores busy)",
    )
    args = parser.parse_args()
    args.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    print(
        f"machine: {platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.1f} GB, Python {platform.python_version()}"
    )
    print(
        "| size | mode | mentions | wall | mentions/s | CPU s (all processes) | loader / store "
        "/ workers (FHIR, CSV readers) | mentions per CPU s | peak RSS (all) | load avg |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        folders = _extracts(_generate(args.root, size))
        for mode in args.modes:
            for _ in range(args.runs):
                data = args.root / f"data-{size}-{mode}"
                shutil.rmtree(data, ignore_errors=True)
                env = {**os.environ, "CPGRAPH_DATA_DIR": str(data), "COLUMNS": "200"}
                flag = "always" if mode == "bulk" else "never"
                before = os.getloadavg()[0]
                cmd = [str(CPGRAPH), "load", "--bulk", flag, *folders]
                timeline: Timeline | None = [] if args.timeline else None
                wall, roles, peak, out = _run(cmd, env, timeline)
                cpu = sum(roles.values())
                after = os.getloadavg()[0]
                found = re.search(r"quarantined; ([\d,]+) person mentions", out)
                mentions = int(found.group(1).replace(",", "")) if found else 0
                print(
                    f"| {size} | {mode} | {mentions:,} | {wall:.1f} s | {mentions / wall:,.0f} | "
                    f"{cpu:.1f} | {roles['loader']:.1f} / {roles['store']:.1f} / "
                    f"{roles['workers']:.1f} | {mentions / cpu:,.0f} | {peak:,.0f} MB | "
                    f"{before:.1f} → {after:.1f} |",
                    flush=True,
                )
                if timeline is not None:
                    _write_timeline(args.timeline, f"{size}-{mode}", timeline)
                    alone = _alone(timeline)
                    print(
                        f"  one role alone on a core: loader {alone['loader']:.0f} s, "
                        f"store {alone['store']:.0f} s, workers {alone['workers']:.0f} s",
                        flush=True,
                    )
                shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
