"""Scale bench: generate → load → link → a fixed API query mix, with the real commands.

Usage::

    .venv/bin/python bench/scale.py --mentions 100000
    .venv/bin/python bench/scale.py --mentions 100000 1000000 5000000 --write-results
    .venv/bin/python bench/scale.py --mentions 1000000 --keep bench/data/scale \\
        --stages serve splink           # again on the store a previous run kept

For each size, in a fresh directory (``--keep DIR`` keeps it, as ``DIR/<mentions>``;
otherwise a temporary one under ``bench/data/`` is removed at the end), every stage
runs the ``cpgraph`` command a user runs, as a subprocess, with its own data
directory (``CPGRAPH_DATA_DIR``):

``generate``
    ``cpgraph generate --households H --seed S`` with H = mentions / 11.8 (measured
    mentions per household); the real count is ``truth.csv``'s rows, reported.
``load``
    ``cpgraph load`` of every extract folder into an empty data directory (the
    directory is deleted first: a fresh store).
``link``
    ``cpgraph link`` (the first, full run, with safeguarding flags).
``serve``
    ``cpgraph users add`` (an investigator) and ``cpgraph export links`` (to pick
    persons; both measured), then ``cpgraph serve`` on a free port: the time until
    ``/readyz`` answers (the store replays its file), then ``--requests`` persons,
    each asked for in turn: profile, flags, 2-hop network, and a search by their name
    and date of birth, over HTTP with the token and a purpose (sequential; p50/p95
    per query). The server is stopped with Ctrl-C (SIGINT), as an operator would.
``splink``
    Splink 5 (DuckDB), as ``bench/linkage_speed.py`` runs it, on the same mentions read
    back from this store (``LinkageService.read()``, timed apart): only where it fits in
    memory (estimated 17 KB per mention, measured at 1M; skipped with the reason
    otherwise).

For every stage: wall time, CPU seconds (user + system of the command and every
descendant it waited for, from ``wait4``'s rusage; the embedded FalkorDB is a child of
the command, so its CPU is included), and peak memory: the summed RSS of the command
and all its descendants, sampled from ``/proc`` every 0.2 s, and separately the peak
RSS of the store's ``redis-server``. A stage that fails or is killed (e.g. by the OOM
killer: SIGKILL) is reported as such, with its peak memory; later stages of that size
are skipped. The size of the data directory is recorded after each stage.

``--write-results`` replaces this script's section of ``bench/RESULTS.md`` (between its
begin/end markers; other sections are left alone). Each size's raw figures are kept in
the section as a JSON comment, so a later run of other sizes adds rows instead of
dropping the earlier ones; a size run again replaces its row.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "RESULTS.md"
CPGRAPH = Path(sys.executable).with_name("cpgraph")

MENTIONS_PER_HOUSEHOLD = 11.8  # seed 7: 8,547 households → 100,794; 85,470 → 999,702
SPLINK_BYTES_PER_MENTION = 17_000  # Splink 5 peak at 1M mentions: 16.3 GB (RESULTS.md)
STAGES = ("generate", "load", "link", "serve", "splink")
SAMPLE_S = 0.2
WARM_UP = 3  # persons asked for before the query mix is timed
STOP_GRACE_S = 120  # after Ctrl-C, how long the server may take before it is killed
PAGE = os.sysconf("SC_PAGE_SIZE")
PURPOSE = "BENCH-SCALE; scale benchmark"
BEGIN = "<!-- bench/scale.py: begin (generated; edit the script, not this section) -->"
END = "<!-- bench/scale.py: end -->"
DATA_RE = re.compile(r"^<!-- scale-data (\{.*\}) -->$", re.MULTILINE)

QUERIES = {
    "profile": """query($id: ID!) { person(id: $id) {
      id displayName datesOfBirth agencies { agency recordCount }
      household { type person { id } }
      timeline(first: 20) { edges { node { id type date } } } } }""",
    "flags": """query($id: ID!) { person(id: $id) {
      flags { code reason confidence evidence { recordKeys path { kind } } }
      possibleMatches { reason } } }""",
    "network": """query($id: ID!) { network(personId: $id, depth: 2, first: 200) {
      nodes { id hops } edges { source target relationship } truncated } }""",
    "search": """query($n: String!, $d: Date) {
      searchPeople(name: $n, dateOfBirth: $d, first: 10) {
        edges { node { score person { id } } } } }""",
}


# --------------------------------------------------------------------------- machine


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    os_name = platform.platform()
    with contextlib.suppress(OSError), open("/etc/os-release") as fh:
        for line in fh:
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip().strip('"') + f" ({platform.release()})"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(_meminfo("MemTotal") / 2**30, 1),
        "os": os_name,
        "python": platform.python_version(),
    }


def code_version() -> str:
    """The commit measured, and whether the working tree had changes to the code."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src", "cypher", "loaders"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' + uncommitted changes' if dirty else ''}" if head else "unknown"


def _meminfo(key: str) -> int:
    """A /proc/meminfo figure in bytes (0 when unknown)."""
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


# --------------------------------------------------------------------------- sampling


def _children_map() -> dict[int, list[int]]:
    """Parent pid → child pids, for every process now running."""
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _tree(root: int) -> list[int]:
    """`root` and all its descendants."""
    kids = _children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, ()))
    return out


def _rss(pid: int) -> int:
    """Resident bytes of a process (0 once it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _store_pids(tree: list[int], data_dir: Path | None) -> set[int]:
    """The store's redis-server: in the tree, or (a shared one) started on `data_dir`."""
    pids = {p for p in tree if _comm(p) == "redis-server"}
    if data_dir is not None and not pids:
        needle = str(data_dir).encode()
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and _comm(int(entry.name)) == "redis-server":
                with contextlib.suppress(OSError):
                    if needle in Path(f"/proc/{entry.name}/cmdline").read_bytes():
                        pids.add(int(entry.name))
    return pids


class Sampler(threading.Thread):
    """Samples the summed RSS of a process tree and of its store every SAMPLE_S."""

    def __init__(self, root: int, data_dir: Path | None) -> None:
        super().__init__(daemon=True)
        self.root, self.data_dir = root, data_dir
        self.peak_tree = self.peak_store = self.last_store = 0
        self.peak_procs = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(SAMPLE_S)

    def sample(self) -> None:
        """One sample (also called by the stage at moments it wants recorded)."""
        tree = _tree(self.root)
        store = _store_pids(tree, self.data_dir)
        rss = {p: _rss(p) for p in set(tree) | store}
        total, in_store = sum(rss.values()), sum(rss[p] for p in store)
        self.peak_tree = max(self.peak_tree, total)
        self.peak_store = max(self.peak_store, in_store)
        self.peak_procs = max(self.peak_procs, len(rss))
        if in_store:
            self.last_store = in_store

    def stop(self) -> None:
        self._halt.set()
        self.join()


# --------------------------------------------------------------------------- stages


@dataclass
class Stage:
    """One measured command."""

    name: str
    status: str = "ok"  # ok | failed (exit N) | killed (SIGNAME) | skipped (why)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_mb: float = 0.0
    store_peak_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _status(code: int) -> str:
    if code == 0:
        return "ok"
    if code < 0:
        name = signal.Signals(-code).name
        hint = " — the OOM killer?" if -code == signal.SIGKILL else ""
        return f"killed ({name}{hint})"
    return f"failed (exit {code})"


def run_stage(
    name: str,
    cmd: list[str],
    env: dict[str, str],
    log: Path,
    data_dir: Path | None,
    during: Callable[[subprocess.Popen[bytes], Sampler], dict[str, Any]] | None = None,
) -> Stage:
    """Run `cmd`, sampling its process tree; wall, CPU (rusage of the waited tree), peaks.

    `during`, when given, runs while the command runs (a server: the query mix); it
    returns extra figures and must leave the process stopping (it sends SIGINT).
    """
    stage = Stage(name)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)  # noqa: S603
        sampler = Sampler(proc.pid, data_dir)
        sampler.start()
        try:
            watchdog = None
            if during is not None:
                try:
                    stage.extra.update(during(proc, sampler))
                except Exception as exc:  # the server's failure is the stage's, not ours
                    stage.extra["error"] = f"{type(exc).__name__}: {exc}"[:300]
                    with contextlib.suppress(ProcessLookupError):
                        proc.send_signal(signal.SIGINT)
                watchdog = threading.Timer(STOP_GRACE_S, proc.kill)
                watchdog.start()
            # wait4: the rusage of the command and every descendant it reaped
            # (the embedded redis-server included)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if watchdog is not None:
                watchdog.cancel()
        except KeyboardInterrupt:
            proc.kill()
            raise
        finally:
            sampler.stop()
        stage.wall_s = round(time.perf_counter() - t0, 1)
    stage.cpu_s = round(usage.ru_utime + usage.ru_stime, 1)
    stage.peak_mb = round(sampler.peak_tree / 2**20)
    stage.store_peak_mb = round(sampler.peak_store / 2**20)
    stage.status = _status(proc.returncode)
    if "error" in stage.extra and stage.status == "ok":
        stage.status = "failed (query mix)"
    return stage


def _dir_mb(path: Path) -> float:
    total = 0
    if path.exists():
        for p in path.rglob("*"):
            with contextlib.suppress(OSError):
                if p.is_file():
                    total += p.stat().st_size
    return round(total / 2**20, 1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(log: Path, pattern: str) -> str | None:
    """The last line of `log` matching `pattern`."""
    found = None
    with contextlib.suppress(OSError):
        for line in log.read_text(errors="replace").splitlines():
            if re.search(pattern, line):
                found = line.strip()
    return found


def _count(text: str | None, pattern: str) -> int | None:
    m = re.search(pattern, text or "")
    return int(m.group(1).replace(",", "")) if m else None


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def query_mix(
    port: int, token: str, persons: list[str], log: Path
) -> Callable[[subprocess.Popen[bytes], Sampler], dict[str, Any]]:
    """The serve stage's work: wait for /readyz, ask the fixed mix, stop the server."""
    import httpx  # the bench group has it (the API tests use it)

    def during(proc: subprocess.Popen[bytes], sampler: Sampler) -> dict[str, Any]:
        base = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        with httpx.Client(base_url=base, timeout=60) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"cpgraph serve exited ({proc.returncode}) before ready")
                if time.perf_counter() - t0 > 900:
                    raise RuntimeError("cpgraph serve not ready after 900 s")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/readyz").status_code == 200:
                        break
                time.sleep(0.2)
            ready_s = time.perf_counter() - t0
            sampler.sample()
            store_at_rest = sampler.last_store
            headers = {"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE}
            times: dict[str, list[float]] = {k: [] for k in QUERIES}
            errors: dict[str, int] = {}

            def ask(kind: str, variables: dict[str, Any]) -> dict[str, Any]:
                t = time.perf_counter()
                r = client.post(
                    "/graphql",
                    json={"query": QUERIES[kind], "variables": variables},
                    headers=headers,
                )
                times[kind].append((time.perf_counter() - t) * 1000)
                body = r.json() if r.headers.get("content-type", "").startswith("app") else {}
                if r.status_code != 200 or body.get("errors"):
                    errors[kind] = errors.get(kind, 0) + 1
                return body.get("data") or {}

            warm = persons[:WARM_UP]
            for i, pid in enumerate(warm + persons):
                data = ask("profile", {"id": pid})
                ask("flags", {"id": pid})
                ask("network", {"id": pid})
                person = data.get("person") or {}
                dobs = person.get("datesOfBirth") or [None]
                ask("search", {"n": person.get("displayName") or "Smith", "d": dobs[0]})
                if i == len(warm) - 1:  # the warm-up persons are not counted
                    for kind in times:
                        times[kind].clear()
                    errors.clear()
            metrics = client.get("/metrics").text
        with log.open("a") as fh:
            fh.write(f"query mix: {len(persons)} persons, errors {errors}\n")
        proc.send_signal(signal.SIGINT)
        out: dict[str, Any] = {
            "ready_s": round(ready_s, 1),
            "store_rss_at_rest_mb": round(store_at_rest / 2**20),
            "requests": sum(len(v) for v in times.values()),
            "errors": errors,
            "metrics_lines": len(metrics.splitlines()),
        }
        for kind, values in times.items():
            out[kind] = {
                "p50_ms": round(statistics.median(values), 1) if values else None,
                "p95_ms": round(_pct(values, 0.95), 1),
                "max_ms": round(max(values), 1) if values else None,
            }
        return out

    return during


# --------------------------------------------------------------------------- splink


def splink_worker(data_dir: Path) -> dict[str, Any]:
    """Read the mentions back from the store, stop it, then time Splink on them."""
    import asyncio
    import resource

    from linkage_accuracy import run_splink_generated

    from cpgraph.config import Settings
    from cpgraph.linkage.service import LinkageService
    from cpgraph.store import create_store

    async def read() -> Any:
        settings = Settings(data_dir=data_dir)
        async with create_store(settings) as store:
            return (await LinkageService(store, settings).read()).mentions

    t = time.perf_counter()
    mentions = asyncio.run(read())
    read_s = time.perf_counter() - t
    before = resource.getrusage(resource.RUSAGE_SELF)
    rss_after_read = before.ru_maxrss / 1024
    t = time.perf_counter()
    pred, _ = run_splink_generated(mentions)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "mentions": len(mentions),
        "read_back_s": round(read_s, 1),
        "splink_wall_s": round(wall, 1),
        "splink_cpu_s": round(
            after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1
        ),
        "rss_after_read_mb": round(rss_after_read),
        "peak_rss_mb": round(after.ru_maxrss / 1024),
        "persons": int(pred.nunique()),
    }


# --------------------------------------------------------------------------- one size


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CPGRAPH_", "NEO4J_"))}
    env.update(
        CPGRAPH_BACKEND="falkordb",
        CPGRAPH_DATA_DIR=str(data_dir),
        CPGRAPH_ENV="prod",
        CPGRAPH_LOG_LEVEL="WARNING",
        # a bench drives one token as fast as it can
        CPGRAPH_API_RATE_LIMIT_PER_S="0",
        CPGRAPH_STORE_START_TIMEOUT_S="1800",
        PYTHONUNBUFFERED="1",
        COLUMNS="400",  # rich wraps at 80 columns when not on a terminal
    )
    return env


def run_size(mentions: int, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Every asked-for stage at one size; never raises for a stage's failure."""
    households = max(1, round(mentions / MENTIONS_PER_HOUSEHOLD))
    extracts, data_dir, log = root / "extracts", root / "data", root / "stages.log"
    root.mkdir(parents=True, exist_ok=True)
    env = _env(data_dir)
    result: dict[str, Any] = {
        "code": code_version(),
        "target_mentions": mentions,
        "households": households,
        "seed": args.seed,
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "loadavg_start": [round(x, 1) for x in os.getloadavg()],
        "stages": {},
    }
    stages: dict[str, Stage] = {}

    def record(stage: Stage) -> bool:
        stage.extra.setdefault("data_dir_mb", _dir_mb(data_dir))
        stages[stage.name] = stage
        result["stages"][stage.name] = asdict(stage)
        print(
            f"  {mentions:>9,} {stage.name:9s} {stage.status:28s} wall {stage.wall_s:>8.1f}s "
            f"cpu {stage.cpu_s:>8.1f}s peak {stage.peak_mb:>7,.0f} MB "
            f"(store {stage.store_peak_mb:,.0f} MB) {json.dumps(stage.extra)[:300]}",
            flush=True,
        )
        return stage.status == "ok"

    def failed_before() -> str | None:
        bad = [s.name for s in stages.values() if s.status != "ok"]
        bad = [b for b in bad if not stages[b].status.startswith("skipped")]
        return f"skipped (after {bad[0]} {stages[bad[0]].status})" if bad else None

    if "generate" in args.stages:
        shutil.rmtree(extracts, ignore_errors=True)
        cmd = [str(CPGRAPH), "generate", "--out", str(extracts), "--households", str(households)]
        st = run_stage("generate", [*cmd, "--seed", str(args.seed)], env, log, None)
        st.extra["extracts_mb"] = _dir_mb(extracts)
        record(st)
    truth = extracts / "truth.csv"
    if truth.exists():
        with truth.open() as fh:
            result["generated_mentions"] = sum(1 for _ in fh) - 1

    folders = sorted(p for p in extracts.glob("*") if (p / "manifest.json").exists())
    if "load" in args.stages:
        if why := failed_before():
            record(Stage("load", why))
        elif not folders:
            record(Stage("load", "skipped (no extracts: run the generate stage)"))
        else:
            shutil.rmtree(data_dir, ignore_errors=True)  # a fresh store
            st = run_stage("load", [str(CPGRAPH), "load", *map(str, folders)], env, log, data_dir)
            summary = _tail(log, r"person mentions$")
            st.extra["mentions"] = _count(summary, r"; ([\d,]+) person mentions")
            st.extra["rows_read"] = _count(summary, r"([\d,]+) rows read")
            if st.extra["mentions"] and st.wall_s:
                st.extra["mentions_per_s"] = round(st.extra["mentions"] / st.wall_s)
            record(st)
            result["loaded_mentions"] = st.extra["mentions"]

    if "link" in args.stages:
        if why := failed_before():
            record(Stage("link", why))
        else:
            st = run_stage("link", [str(CPGRAPH), "link"], env, log, data_dir)
            persons = _tail(log, r"^\W*persons\W")
            st.extra["persons"] = _count(persons, r"([\d,]+)")
            st.extra["timings"] = (_tail(log, r"^time: ") or "")[6:]
            record(st)

    if "serve" in args.stages:
        if why := failed_before():
            record(Stage("serve", why))
        else:
            _serve(mentions, data_dir, env, log, args, record)

    if "splink" in args.stages:
        need = SPLINK_BYTES_PER_MENTION * (result.get("loaded_mentions") or mentions)
        avail = _meminfo("MemAvailable")
        if why := failed_before():
            record(Stage("splink", why))
        elif need > 0.85 * avail:
            record(
                Stage(
                    "splink",
                    f"skipped (needs ≈ {need / 2**30:.0f} GB, {avail / 2**30:.0f} GB available)",
                )
            )
        else:
            cmd = [sys.executable, __file__, "--splink-worker", str(data_dir)]
            out = root / "splink.json"
            env_s = {**env, "SCALE_SPLINK_OUT": str(out)}
            st = run_stage("splink", cmd, env_s, log, data_dir)
            with contextlib.suppress(OSError, ValueError):
                st.extra.update(json.loads(out.read_text()))
            record(st)

    result["loadavg_end"] = [round(x, 1) for x in os.getloadavg()]
    return result


def _serve(
    mentions: int,
    data_dir: Path,
    env: dict[str, str],
    log: Path,
    args: argparse.Namespace,
    record: Callable[[Stage], bool],
) -> None:
    """users add + export links (measured), then the server under the query mix."""
    st = run_stage(
        "users_add",
        [str(CPGRAPH), "users", "add", "scale-bench", "--role", "investigator"],
        env,
        log,
        data_dir,
    )
    token_line = _tail(log, r"cpg_[A-Za-z0-9_\-]{20,}")
    token = re.search(r"cpg_[A-Za-z0-9_\-]{20,}", token_line or "")
    if not token and st.status == "ok":
        st.status = "failed (no token printed)"
    if not record(st) or token is None:
        return
    links = data_dir.parent / "links.csv"
    st = run_stage(
        "export",
        [str(CPGRAPH), "export", "links", "--out", str(links)],
        env,
        log,
        data_dir,
    )
    if not record(st):
        return
    with links.open(newline="") as fh:
        person_ids = sorted({row["person_id"] for row in csv.DictReader(fh) if row["person_id"]})
    chosen = random.Random(args.seed).sample(person_ids, min(args.requests, len(person_ids)))
    port = _free_port()
    env_serve = {**env, "CPGRAPH_HOST": "127.0.0.1", "CPGRAPH_PORT": str(port)}
    st = run_stage(
        "serve",
        [str(CPGRAPH), "serve"],
        env_serve,
        log,
        data_dir,
        during=query_mix(port, token.group(0), chosen, log),
    )
    st.extra["persons_asked"] = len(chosen)
    record(st)
    # the token is a credential: the log keeps no copy
    text = log.read_text(errors="replace")
    log.write_text(re.sub(r"cpg_[A-Za-z0-9_\-]{20,}", "cpg_<redacted>", text))


# --------------------------------------------------------------------------- report


def _per_million(value: float | None, mentions: int | None) -> str:
    if not value or not mentions:
        return "–"
    return f"{value / (mentions / 1e6):,.0f}"


def render(runs: list[dict[str, Any]]) -> str:
    """The RESULTS.md section for these runs (sorted by size)."""
    runs = sorted(runs, key=lambda r: r["target_mentions"])
    commands = sorted({r.get("command", "") for r in runs} - {""})
    lines = [
        BEGIN,
        "## Scale (`bench/scale.py`, issue #16)",
        "",
        "```",
        *commands,
        "```",
        "",
        "The real commands as subprocesses on a fresh data directory per size: `cpgraph "
        "generate` → `cpgraph load` → `cpgraph link` → `cpgraph users add` + `cpgraph export "
        "links` → `cpgraph serve` under a fixed query mix (per sampled person, sequential: "
        "profile, flags, 2-hop network, search by name + date of birth; 3 warm-up persons not "
        "counted) → Splink 5 on the same mentions where it fits in memory. CPU = user + system "
        "seconds of the command and every process it waited for (the embedded FalkorDB "
        "included); peak = summed RSS of the command and all its descendants, sampled every "
        "0.2 s; store = the embedded FalkorDB (`redis-server`) alone. Data dir = size on disk "
        "after the stage.",
        "",
    ]
    for run in runs:
        m = run["machine"]
        lines.append(
            f"- {run['target_mentions']:,} target, run {run['started']} on "
            f"{run.get('code', 'unknown')}: {m['cpu']}, "
            f"{m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}, Python {m['python']}; "
            f"load average {run['loadavg_start']} at the start, {run['loadavg_end']} at the "
            "end (a shared machine: wall times swing with it; CPU seconds are steadier)."
        )
    lines += [
        "",
        "| mentions (households) | stage | status | wall | CPU s | peak RSS, all processes "
        "| store peak RSS | data dir | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        n = run.get("loaded_mentions") or run.get("generated_mentions")
        label = f"{n:,}" if n else f"≈ {run['target_mentions']:,}"
        label += f" ({run['households']:,})"
        # in the order they ran (a run read back from its JSON comment has them sorted)
        order = (*STAGES[:3], "users_add", "export", *STAGES[3:])
        ranked = sorted(
            run["stages"].items(),
            key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order),
        )
        for name, st in ranked:
            ex = st["extra"]
            notes = []
            if name == "generate" and run.get("generated_mentions"):
                notes.append(f"{run['generated_mentions']:,} mentions in truth.csv")
                notes.append(f"extracts {ex.get('extracts_mb', 0):,.0f} MB")
            if name == "load" and ex.get("mentions_per_s"):
                notes.append(f"**{ex['mentions_per_s']:,} mentions/s**")
            if name == "link":
                if ex.get("persons"):
                    notes.append(f"{ex['persons']:,} persons")
                if ex.get("timings"):
                    notes.append(f"stages: {ex['timings']}")
            if name == "serve" and "profile" in ex:
                notes.append(f"ready after {ex['ready_s']} s")
                notes.append(f"store at rest {ex['store_rss_at_rest_mb']:,} MB")
                notes.append(
                    "p50/p95 ms: "
                    + "; ".join(
                        f"{k} {ex[k]['p50_ms']}/{ex[k]['p95_ms']}" for k in QUERIES if k in ex
                    )
                )
                notes.append(f"{ex['requests']} requests, errors {ex['errors'] or 0}")
            if name == "serve" and ex.get("error"):
                notes.append(ex["error"])
            if name == "splink" and "splink_wall_s" in ex:
                notes.append(
                    f"Splink alone: {ex['splink_wall_s']} s wall, {ex['splink_cpu_s']} CPU s, "
                    f"peak {ex['peak_rss_mb']:,} MB (after read-back {ex['rss_after_read_mb']:,}"
                    f" MB); read-back {ex['read_back_s']} s"
                )
            wall = f"{st['wall_s']:,.1f} s" if st["wall_s"] else "–"
            cpu = f"{st['cpu_s']:,.1f}" if st["cpu_s"] else "–"
            peak = f"{st['peak_mb']:,.0f} MB" if st["peak_mb"] else "–"
            store = f"{st['store_peak_mb']:,.0f} MB" if st["store_peak_mb"] else "–"
            size = f"{ex['data_dir_mb']:,.0f} MB" if ex.get("data_dir_mb") else "–"
            lines.append(
                f"| {label} | {name} | {st['status']} | {wall} | {cpu} | {peak} | {store} "
                f"| {size} | {'; '.join(notes)} |"
            )
    lines += [
        "",
        "Per million mentions (the sizing figures of "
        "[`docs/operations.md`](../docs/operations.md#sizing)): each size's figure divided "
        "by its mentions in millions. Ratios, not predictions: linkage time and memory grow "
        "faster than the mention count (more candidate pairs per block), so plan from the "
        "largest size measured.",
        "",
        "| mentions | load | load peak RSS | link wall | link CPU s | link peak RSS | store RSS at "
        "rest | data dir after link |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        n = run.get("loaded_mentions")
        s = run["stages"]
        load, link, serve = s.get("load", {}), s.get("link", {}), s.get("serve", {})
        rate = load.get("extra", {}).get("mentions_per_s")
        lines.append(
            f"| {n:,} | {f'{rate:,}/s' if rate else '–'} "
            f"| {_per_million(load.get('peak_mb'), n)} MB/M "
            f"| {_per_million(link.get('wall_s'), n)} s/M "
            f"| {_per_million(link.get('cpu_s'), n)} /M "
            f"| {_per_million(link.get('peak_mb'), n)} MB/M "
            f"| {_per_million(serve.get('extra', {}).get('store_rss_at_rest_mb'), n)} MB/M "
            f"| {_per_million(link.get('extra', {}).get('data_dir_mb'), n)} MB/M |"
            if n
            else f"| ≈ {run['target_mentions']:,} | – | – | – | – | – | – | – |"
        )
    lines += [
        "",
        "Linkage side by side with Splink 5 (DuckDB) on the same mentions (read back from the "
        "same store; Splink as `bench/linkage_speed.py` runs it: train, predict, cluster at "
        "0.95). `cpgraph link` is the whole command (read, engine, write-back, flags, review "
        "queue); the engine alone is its `total` stage:",
        "",
        "| mentions | `cpgraph link` wall | CPU s | peak RSS (all) | engine alone | Splink wall "
        "| Splink CPU s | Splink peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        n = run.get("loaded_mentions")
        link = run["stages"].get("link")
        spl = run["stages"].get("splink")
        if not n or not link:
            continue
        engine = re.search(r"total ([\d.]+)s", link["extra"].get("timings") or "")
        sx = spl["extra"] if spl else {}
        splink = (
            f"{sx['splink_wall_s']} s | {sx['splink_cpu_s']} | {sx['peak_rss_mb']:,} MB"
            if "splink_wall_s" in sx
            else f"{spl['status'] if spl else 'not run'} | – | –"
        )
        lines.append(
            f"| {n:,} | {link['wall_s']} s | {link['cpu_s']} | {link['peak_mb']:,.0f} MB "
            f"| {engine.group(1) + ' s' if engine else '–'} | {splink} |"
        )
    lines.append("")
    for run in runs:
        lines.append(f"<!-- scale-data {json.dumps(run, sort_keys=True)} -->")
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_results(new_runs: list[dict[str, Any]]) -> None:
    """Replace this script's section of RESULTS.md, keeping earlier runs of other sizes."""
    text = RESULTS.read_text(encoding="utf-8")
    kept: dict[int, dict[str, Any]] = {}
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        old, tail = rest.split(END, 1)
        for m in DATA_RE.finditer(old):
            run = json.loads(m.group(1))
            kept[run["target_mentions"]] = run
    else:
        head, tail = text.rstrip("\n") + "\n\n", ""
    for run in new_runs:
        kept[run["target_mentions"]] = run
    section = render(list(kept.values()))
    RESULTS.write_text(head + section + tail.lstrip("\n"), encoding="utf-8")


# --------------------------------------------------------------------------- main


@contextlib.contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    (HERE / "data").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scale-", dir=HERE / "data") as tmp:
        yield Path(tmp)


def main(argv: list[str] | None = None) -> int:
    """Run the bench (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mentions", type=int, nargs="+", default=[100_000])
    ap.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    ap.add_argument("--keep", type=Path, default=None, help="work in DIR/<mentions>, keep it")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--requests", type=int, default=100, help="persons in the query mix")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    ap.add_argument("--write-results", action="store_true", help="update bench/RESULTS.md")
    ap.add_argument(
        "--from-json", type=Path, default=None, help="report the runs a --json file holds"
    )
    ap.add_argument("--splink-worker", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.splink_worker:
        out = splink_worker(args.splink_worker)
        Path(os.environ["SCALE_SPLINK_OUT"]).write_text(json.dumps(out))
        return 0

    if args.from_json:
        runs = json.loads(args.from_json.read_text())
    else:
        mach = machine()
        print(json.dumps(mach), flush=True)
        command = ".venv/bin/python bench/scale.py " + " ".join(
            a for a in (argv if argv is not None else sys.argv[1:]) if a != "--write-results"
        )
        runs = []
        with _workdir(args.keep) as work:
            for size in args.mentions:
                run = run_size(size, work / str(size), args)
                run.update(machine=mach, command=command)
                runs.append(run)
                if args.json:
                    args.json.write_text(json.dumps(runs, indent=2))
    if args.write_results:
        write_results(runs)
    else:
        print(render(runs))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))  # linkage_accuracy, for the Splink worker
    sys.exit(main())
