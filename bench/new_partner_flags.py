"""New-partner history in the child's flags, on every generator profile (issues #13/#19).

Issue #13's second done-criterion: in every profile, every new-partner scenario's prior
history (the partner's nominal in another force, often under an alias) appears in the
child's ``HOUSEHOLD_ADULT_DOMESTIC_ABUSE`` flag, confirmed or possible, with the
history's record keys in its evidence; every control child has no flag at all.

For each profile and seed this runs the real commands as subprocesses on a fresh
temporary data dir: ``cpgraph generate --profile P --households N --seed S``, ``cpgraph
load`` (every extract folder), ``cpgraph link``, ``cpgraph users add NAME --role
investigator``, then ``cpgraph serve`` on a free port (in its own process group, stopped
in a ``finally``) and asks the API for the flags of each scenario's child, as
``tests/e2e/test_new_partner_alias.py`` does (same query, same history keys from
``scenarios.json``, same checks), except that the child is every person its records
resolve to, not only its first record's (see :func:`judge`). The logic is repeated
here rather than shared: the test asserts, the bench counts.

Usage::

    .venv/bin/python bench/new_partner_flags.py                      # 7 profiles x seeds 31 32
    .venv/bin/python bench/new_partner_flags.py --profiles alias_heavy --seeds 5 \\
        --households 300 --json /tmp/np.json
    .venv/bin/python bench/new_partner_flags.py --profiles alias_heavy --spec my-spec.toml
    .venv/bin/python bench/new_partner_flags.py --export-style varied   # other exports' ways

Prints one line per run and a Markdown table (the one in bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cpgraph.generate import PROFILES, SYSTEMS

CPGRAPH = [sys.executable, "-m", "cpgraph.cli"]
PURPOSE = "BENCH-13; new partner history check"
FLAG_CODE = "HOUSEHOLD_ADULT_DOMESTIC_ABUSE"
HISTORY_WHY = "nominal in another force"  # scenarios.json: the partner's history record
STEP_TIMEOUT = 1800  # seconds for one command (link at 300 households takes far less)

FLAGS = """
query($k: String!) {
  record(key: $k) {
    person {
      id
      flags { code confidence reason evidence { recordKeys path { kind } } }
    }
  }
}
"""


@dataclass
class Run:
    """What one profile and seed gave."""

    profile: str
    seed: int
    households: int
    new_partner: int = 0
    confirmed: int = 0
    possible: int = 0
    missed: list[str] = field(default_factory=list)
    split: list[str] = field(default_factory=list)
    """Found, but not on the person of the child's first record (the e2e test's check)."""
    controls: int = 0
    controls_flagged: list[str] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)
    """Scenarios the checks could not judge (no history key, child record not found) or
    a POSSIBLE flag without the steward wording or POSSIBLE_MATCH hop the e2e requires."""
    seconds: dict[str, float] = field(default_factory=dict)


def machine() -> str:
    """CPU model, cores, RAM and Python of this machine."""
    model = ""
    ram = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f", {int(line.split()[1]) / 1024**2:.0f} GB RAM"
                break
    except OSError:
        pass
    cpu = model or platform.processor()
    return f"{cpu}, {os.cpu_count()} cores{ram}, Python {platform.python_version()}"


def _env(data: Path) -> dict[str, str]:
    # Nothing from the caller's cpgraph settings: every run is on its own embedded store.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CPGRAPH_", "NEO4J_"))}
    return {**base, "CPGRAPH_DATA_DIR": str(data)}


def cpgraph(*args: str, data: Path, cwd: Path) -> str:
    """Run one cpgraph command to its end; its stdout (stderr's tail if it failed)."""
    done = subprocess.run(
        [*CPGRAPH, *args],
        cwd=cwd,
        env=_env(data),
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cpgraph {args[0]} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server (it closes its store), then kill whatever of its group is left."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=60)
    # the embedded store and any helper still in the server's process group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait()


def history_keys(scenario: dict[str, Any]) -> list[str]:
    """The partner's history record keys of a new-partner scenario."""
    return [
        m["record_key"]
        for m in scenario["must_connect"]
        if "record_key" in m and HISTORY_WHY in m["why"]
    ]


def ask(http: httpx.Client, key: str) -> httpx.Response:
    """The flags query for one record key, waiting out the API's rate limit (429)."""
    for _ in range(30):
        resp = http.post("/graphql", json={"query": FLAGS, "variables": {"k": key}})
        if resp.status_code != 429:
            resp.raise_for_status()
            return resp
        time.sleep(float(resp.headers.get("retry-after", "1")))
    raise RuntimeError("the API kept answering 429")


def _level(flags: list[dict[str, Any]], history: list[str]) -> str | None:
    """CONFIRMED or POSSIBLE if a flag of these cites every history key, else None."""
    levels = {
        f["confidence"]
        for f in flags
        if f["code"] == FLAG_CODE and set(history) <= set(f["evidence"]["recordKeys"])
    }
    return next((c for c in ("CONFIRMED", "POSSIBLE") if c in levels), None)


def judge(run: Run, scenarios: list[dict[str, Any]], http: httpx.Client) -> None:
    """Count, per scenario child, whether its flags cite the history (or, for controls, none).

    The child is every person its records resolve to: the e2e test asks the first
    record's person only, but a child's record that linkage left apart (a singleton
    police nominal at an old address) would then hide the flag its other records carry.
    Such a child is counted by its best person and listed in ``split``.
    """

    def persons_of(sc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        persons: dict[str, list[dict[str, Any]]] = {}  # in record order: first record first
        for key in sc["child_record_keys"]:
            resp = ask(http, key)
            record = resp.json()["data"]["record"]
            if record and record["person"]:  # None: a row quarantined on purpose
                persons.setdefault(record["person"]["id"], list(record["person"]["flags"]))
        return persons

    for sc in scenarios:
        if sc["scenario"] == "new_partner":
            run.new_partner += 1
            history = history_keys(sc)
            persons = persons_of(sc)
            if not history or not persons:
                run.anomalies.append(f"{sc['id']}: {'no child' if history else 'no history key'}")
                run.missed.append(sc["id"])
                continue
            levels = [_level(flags, history) for flags in persons.values()]
            if "CONFIRMED" in levels:
                run.confirmed += 1
            elif "POSSIBLE" in levels:
                run.possible += 1
            else:
                run.missed.append(sc["id"])
            if any(levels) and levels[0] is None:
                run.split.append(sc["id"])  # the first record's person alone would miss it
            for flags in persons.values():
                for f in flags:
                    hops = {h["kind"] for h in f["evidence"]["path"]}
                    if (
                        f["code"] == FLAG_CODE
                        and f["confidence"] == "POSSIBLE"
                        and set(history) <= set(f["evidence"]["recordKeys"])
                        and ("steward" not in f["reason"] or "POSSIBLE_MATCH" not in hops)
                    ):
                        run.anomalies.append(f"{sc['id']}: POSSIBLE flag without steward evidence")
        elif sc["scenario"] == "control":
            run.controls += 1
            persons = persons_of(sc)
            if not persons:
                run.anomalies.append(f"{sc['id']}: no child")
            elif any(persons.values()):
                run.controls_flagged.append(sc["id"])


def one_run(
    profile: str,
    seed: int,
    households: int,
    keep: bool,
    spec: Path | None,
    export_style: str = "contract",
) -> Run:
    """Generate, load, link and serve one population; judge its scenario children."""
    run = Run(profile, seed, households)
    root = Path(tempfile.mkdtemp(prefix=f"np-{profile}-{seed}-"))  # 0700
    pop, data = root / "pop", root / "data"
    try:
        steps: list[tuple[str, list[str]]] = [
            ("generate", ["generate", "--out", str(pop), "--households", str(households),
                          "--seed", str(seed), "--profile", profile,
                          "--export-style", export_style]),
            ("load", ["load", *(str(pop / s) for s in sorted(SYSTEMS))]),
            ("link", ["link", *(["--spec", str(spec)] if spec else [])]),
        ]  # fmt: skip
        for name, args in steps:
            t0 = time.monotonic()
            cpgraph(*args, data=data, cwd=root)
            run.seconds[name] = round(time.monotonic() - t0, 1)
        token = cpgraph("users", "add", "np-bench", "--role", "investigator", data=data, cwd=root)
        token = token.strip().splitlines()[-1]
        scenarios = json.loads((pop / "scenarios.json").read_text(encoding="utf-8"))
        port = free_port()
        server = subprocess.Popen(
            [*CPGRAPH, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=root,
            env=_env(data),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: stopped with its store
        )
        try:
            headers = {"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE}
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
                deadline = time.monotonic() + 120
                while True:
                    try:
                        if http.get("/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if server.poll() is not None:
                        err = server.stderr.read().decode()[-2000:] if server.stderr else ""
                        raise RuntimeError(f"cpgraph serve exited: {err}")
                    if time.monotonic() > deadline:
                        raise RuntimeError("cpgraph serve did not become ready")
                    time.sleep(0.3)
                t0 = time.monotonic()
                judge(run, scenarios, http)
                run.seconds["flags"] = round(time.monotonic() - t0, 1)
        finally:
            _stop(server)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return run


def markdown(runs: list[Run]) -> str:
    """The results as a Markdown table, one row per profile and seed."""
    rows = [
        "| profile | seed | new-partner households | history in flag: CONFIRMED | POSSIBLE "
        "| missed (scenario ids) | found only beside the first record's person "
        "| control children with any flag |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        missed = f"{len(r.missed)}" + (f" ({', '.join(r.missed)})" if r.missed else "")
        flagged = f"{len(r.controls_flagged)} of {r.controls}" + (
            f" ({', '.join(r.controls_flagged)})" if r.controls_flagged else ""
        )
        split = f"{len(r.split)}" + (f" ({', '.join(r.split)})" if r.split else "")
        rows.append(
            f"| {r.profile} | {r.seed} | {r.new_partner} | {r.confirmed} | {r.possible} "
            f"| {missed} | {split} | {flagged} |"
        )
    total = [sum(getattr(r, k) for r in runs) for k in ("new_partner", "confirmed", "possible")]
    rows.append(
        f"| **all** | | {total[0]} | {total[1]} | {total[2]} | {sum(len(r.missed) for r in runs)} "
        f"| {sum(len(r.split) for r in runs)} "
        f"| {sum(len(r.controls_flagged) for r in runs)} of {sum(r.controls for r in runs)} |"
    )
    return "\n".join(rows)


def main() -> None:
    """Parse arguments, run every profile and seed in turn, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profiles", nargs="+", default=list(PROFILES), choices=list(PROFILES))
    ap.add_argument("--seeds", nargs="+", type=int, default=[31, 32])
    ap.add_argument("--households", type=int, default=300)
    ap.add_argument("--spec", type=Path, help="link with this spec (cpgraph link --spec)")
    ap.add_argument(
        "--export-style",
        choices=["contract", "varied"],
        default="contract",
        help="how the extracts are written (cpgraph generate --export-style)",
    )
    ap.add_argument("--json", type=Path, help="also write every run's counts here")
    ap.add_argument("--keep", action="store_true", help="keep each run's data dir (debugging)")
    args = ap.parse_args()
    print(f"machine: {machine()}; export style: {args.export_style}", flush=True)
    runs: list[Run] = []
    for profile in args.profiles:
        for seed in args.seeds:
            run = one_run(profile, seed, args.households, args.keep, args.spec, args.export_style)
            runs.append(run)
            print(
                f"{profile} s{seed}: new_partner {run.new_partner}, confirmed {run.confirmed}, "
                f"possible {run.possible}, missed {run.missed or 0}, split {run.split or 0}, "
                f"controls flagged "
                f"{len(run.controls_flagged)}/{run.controls}, anomalies {run.anomalies or 0}, "
                f"seconds {run.seconds}",
                flush=True,
            )
            if args.json:  # after every run: a long run's figures survive an interruption
                args.json.write_text(json.dumps([asdict(r) for r in runs], indent=1) + "\n")
    print()
    print(markdown(runs))


if __name__ == "__main__":
    main()
