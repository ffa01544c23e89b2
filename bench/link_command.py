"""`cpgraph link` end to end: the real command, its stages and the memory of its processes.

``bench/linkage_speed.py`` times the engine on mentions already in memory; this bench
runs what a user runs, as a subprocess, on a loaded embedded store: ``cpgraph link
--full`` (read, link, write, flags), then optionally ``cpgraph link`` again with nothing
changed (incremental). While each command runs, the memory of its process tree is
sampled every 0.5 s: the command and its forked linkage workers (``link``) apart from
the embedded store's ``redis-server`` (``store``), as PSS (shared pages counted once
across processes: what forks really cost) and RSS, summed over processes at the same
instant; the peaks are reported. Stage times are the command's own (``time:`` line).

The store is made once per data directory: ``cpgraph db init`` and ``cpgraph load
--bulk never`` of every extract folder (timed, with its load rate), reused afterwards.
With ``--splink`` the mentions are read back and Splink 5 (DuckDB) links them in its own
process, as in ``bench/linkage_speed.py``, for the wall time beside ``cpgraph link``.

Usage::

    .venv/bin/cpgraph generate --out /tmp/mem/pop1m --households 110000 --seed 5
    .venv/bin/python bench/link_command.py --extracts /tmp/mem/pop1m \\
        --data-dir /tmp/mem/store1m --incremental --splink

``--limit-mb N`` kills a command whose process tree passes N MB of PSS (the machine may be
shared); ``--json FILE`` keeps the summary with each run's PSS series; ``--stages FILE``
prints the peaks per stage of such a file's runs (:func:`stage_peaks`).

Prints one line per command and a JSON summary.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
CPGRAPH = [sys.executable, "-m", "cpgraph.cli"]
# the store and its forks (Redis renames a background save or append-only-file rewrite
# child "redis-rdb-bgsave" / "redis-aof-rewrite": counted as the command's before)
STORE_NAMES = ("redis", "falkordb")


def _store_pids(procs: list[psutil.Process]) -> set[int]:
    """The store's processes: those named like it and every descendant of one.

    A fork of the store (a snapshot or log rewrite) is the store's memory whatever name
    it runs under; going by names alone counted some of them as the command's.
    """
    parent: dict[int, int] = {}
    store: set[int] = set()
    for p in procs:
        try:
            parent[p.pid] = p.ppid()
            if p.name().startswith(STORE_NAMES):
                store.add(p.pid)
        except psutil.Error:
            continue
    for pid in parent:
        up = pid
        while up in parent and up not in store:
            up = parent[up]
        if up in store:
            store.add(pid)
    return store


def pss_bytes(pid: int) -> int:
    """The PSS of a process in bytes (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return 0
    return 0


class TreeSampler:
    """Peaks of a process tree's memory, the store's processes apart from the rest.

    With ``limit_mb``, a tree whose PSS sum passes it is killed (a watchdog for a machine
    shared with other work); ``series`` keeps ``(seconds, link PSS MB, store PSS MB)``.
    """

    def __init__(self, pid: int, every: float = 0.5, limit_mb: float | None = None) -> None:
        """Start sampling ``pid`` and its descendants every ``every`` seconds."""
        self.root = psutil.Process(pid)
        self.every = every
        self.limit_mb = limit_mb
        self.killed = False
        self.peak: dict[str, float] = {}
        self.series: list[tuple[float, int, int]] = []
        self.max_procs = 0
        self._t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            now = {"link_pss": 0, "link_rss": 0, "store_pss": 0, "store_rss": 0}
            linkers = 0
            store_pids = _store_pids(procs)
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                side = "store" if p.pid in store_pids else "link"
                linkers += side == "link"
                now[f"{side}_pss"] += pss_bytes(p.pid)
                now[f"{side}_rss"] += rss
            now["total_pss"] = now["link_pss"] + now["store_pss"]
            now["total_rss"] = now["link_rss"] + now["store_rss"]
            for k, v in now.items():
                self.peak[k] = max(self.peak.get(k, 0), v / 2**20)
            self.series.append(
                (
                    round(time.perf_counter() - self._t0, 1),
                    now["link_pss"] >> 20,
                    now["store_pss"] >> 20,
                )
            )
            if self.limit_mb is not None and now["total_pss"] / 2**20 > self.limit_mb:
                self.killed = True
                for p in reversed(procs):  # this run's own processes only
                    with contextlib.suppress(psutil.Error):
                        p.kill()
                break
            self.max_procs = max(self.max_procs, linkers)
            self._stop.wait(self.every)

    def stop(self) -> dict[str, float]:
        """Stop sampling; the peaks in MB (and the most linkage processes seen at once)."""
        self._stop.set()
        self._thread.join()
        return {**{k: round(v) for k, v in self.peak.items()}, "link_procs": self.max_procs}


def run(cmd: list[str], env: dict[str, str], label: str, limit_mb: float | None = None) -> dict:
    """Run a cpgraph command, sampling its memory; wall time, peaks and stage times."""
    t = time.perf_counter()
    # CPU seconds of the whole tree (forks and the store, which the command reaps): on a
    # shared machine they move far less with the load than the wall time does
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    sampler = TreeSampler(proc.pid, limit_mb=limit_mb)
    out, err = proc.communicate()
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peaks = sampler.stop()
    if proc.returncode != 0:
        print(err[-3000:], file=sys.stderr)
    stages = {}
    m = re.search(r"^time: (.*)$", out, re.MULTILINE)
    if m:
        for part in m.group(1).split(", "):
            name, _, secs = part.rpartition(" ")
            stages[name] = float(secs.rstrip("s"))
    kind = re.search(r"linkage \((full|incremental)\)", out)
    # (`cpgraph link`'s flags line: scoped runs say how many persons they recomputed)
    flags = re.search(r"^safeguarding flags .*$", out, re.MULTILINE)
    result = {
        "command": label,
        "returncode": proc.returncode,
        "run": kind.group(1) if kind else None,
        "flags": flags.group(0) if flags else None,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "stages_s": stages,
        "peak_mb": peaks,
        "killed_over_mb": limit_mb if sampler.killed else None,
        "pss_series": sampler.series,
    }
    print(
        f"{label}: rc={proc.returncode} ({result['run']}) wall={wall:.1f}s cpu={cpu:.1f}s "
        f"stages={stages} "
        f"peaks(MB)={peaks}" + (f"\n  {result['flags']}" if result["flags"] else ""),
        flush=True,
    )
    return result


# the command's stages in the order they run (its ``time:`` line), then the flags
ENGINE_STAGES = ("standardise", "fit", "block", "score", "cluster", "cohesion", "assign")


def stage_peaks(run: dict) -> dict[str, dict[str, int]]:
    """Peak PSS (MB) of the command and of the store per stage, from a run's PSS series.

    Stage windows come from the command's ``time:`` line: the flags stages walked back
    from the end, then read, the engine's stages (``total`` less its stages: ``state``)
    and the write laid back to back before them. What the line does not time (the
    store's start before the read, the state saved after the write: seconds) falls in
    ``start`` and in the write's window.
    """
    st, series = run.get("stages_s") or {}, run.get("pss_series") or []
    if not st or not series:
        return {}
    end = float(run["wall_s"])
    order = ["read", *ENGINE_STAGES, "state", "write", "flags", "flagged_marks"]
    took = {k: float(st.get(k, 0.0)) for k in order}
    took["state"] = max(0.0, float(st.get("total", 0.0)) - sum(took[k] for k in ENGINE_STAGES))
    t = end - sum(took.values())
    windows = [("start", 0.0, t)]
    for k in order:
        windows.append((k, t, t + took[k]))
        t += took[k]
    out: dict[str, dict[str, int]] = {}
    for name, lo, hi in windows:
        inside = [(lk, sk) for at, lk, sk in series if lo <= at < hi]
        if inside:
            out[name] = {
                "link_pss": max(x[0] for x in inside),
                "store_pss": max(x[1] for x in inside),
                "seconds": round(hi - lo, 1),
            }
    return out


def ensure_loaded(extracts: Path, env: dict[str, str], data_dir: Path) -> dict | None:
    """Load every extract folder into a fresh store under ``data_dir`` (None: reused)."""
    marker = data_dir / "bench-loaded.json"
    if marker.exists():
        return None
    folders = sorted(str(p) for p in extracts.iterdir() if (p / "manifest.json").exists())
    subprocess.run([*CPGRAPH, "db", "init"], env=env, cwd=ROOT, check=True, capture_output=True)
    r = run([*CPGRAPH, "load", "--bulk", "never", *folders], env=env, label="cpgraph load")
    if r["returncode"] != 0:
        raise SystemExit("load failed")
    marker.write_text(json.dumps(r))
    return r


def read_back(env: dict[str, str], out: Path) -> int:
    """Read the mentions as ``cpgraph link`` does and pickle them for Splink."""
    code = (
        "import asyncio, pickle, sys\n"
        "from cpgraph.config import get_settings\n"
        "from cpgraph.store import create_store\n"
        "from cpgraph.linkage.service import LinkageService\n"
        "async def main():\n"
        "    s = get_settings(); st = create_store(s); await st.start()\n"
        "    try:\n"
        "        m = await LinkageService(st, s).read()\n"
        "    finally:\n"
        "        await st.close()\n"
        "    with open(sys.argv[1], 'wb') as fh:\n"
        "        pickle.dump((m.mentions, m.relationships), fh)\n"
        "    print(len(m.mentions))\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout.strip().splitlines()[-1])


def splink(pkl: Path) -> dict:
    """Splink 5 on the pickled mentions (``bench/linkage_speed.py``'s worker)."""
    cmd = [sys.executable, str(HERE / "linkage_speed.py"), "--worker", "splink"]
    done = subprocess.run([*cmd, "--pickle", str(pkl)], capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        return {"engine": "splink", "error": done.returncode}
    r = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"splink: wall={r['wall_s']}s peak_rss={r['peak_rss_mb']}MB", flush=True)
    return r


def main(argv: list[str] | None = None) -> int:
    """Run the bench (see the module docstring)."""
    from linkage_speed import machine

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--extracts", type=Path, help="a generated population (required)")
    ap.add_argument("--data-dir", type=Path, help="the scratch store's dir (required)")
    ap.add_argument("--incremental", action="store_true", help="then link again, unchanged")
    ap.add_argument("--splink", action="store_true", help="Splink on the same mentions")
    ap.add_argument("--no-full", action="store_true", help="skip the full run")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--limit-mb", type=float, default=None, help="kill a command whose tree PSS passes this"
    )
    ap.add_argument(
        "--stages", type=Path, default=None, help="only print the stage peaks of a --json file"
    )
    args = ap.parse_args(argv)
    if args.stages:
        for r in json.loads(args.stages.read_text())["runs"]:
            print(r["command"], json.dumps(stage_peaks(r)))
        return 0
    if args.extracts is None or args.data_dir is None:
        ap.error("--extracts and --data-dir are required")
    args.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {**os.environ, "CPGRAPH_DATA_DIR": str(args.data_dir), "COLUMNS": "400"}
    out: dict = {"machine": machine(), "extracts": str(args.extracts), "runs": []}
    print(json.dumps(out["machine"]), flush=True)
    loaded = ensure_loaded(args.extracts, env, args.data_dir)
    if loaded:
        out["runs"].append(loaded)
    if not args.no_full:
        out["runs"].append(
            run([*CPGRAPH, "link", "--full"], env, "cpgraph link --full", args.limit_mb)
        )
    if args.incremental:
        out["runs"].append(run([*CPGRAPH, "link"], env, "cpgraph link (no change)", args.limit_mb))
    if args.splink:
        pkl = args.data_dir.parent / (args.data_dir.name + "-mentions.pkl")
        out["mentions"] = read_back(env, pkl)
        out["runs"].append(splink(pkl))
        pkl.unlink()
    text = json.dumps(out, indent=2, default=str)
    if args.json:
        args.json.write_text(text)  # with each run's PSS series
    brief = {
        **out,
        "runs": [
            {**{k: v for k, v in r.items() if k != "pss_series"}, "stage_peaks": stage_peaks(r)}
            for r in out["runs"]
        ],
    }
    print(json.dumps(brief, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
