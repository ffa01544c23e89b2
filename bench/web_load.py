"""Web app load time in a real browser: the profile and its network at ~100k persons.

Usage:
    .venv/bin/python bench/web_load.py --data-dir DIR [--build HOUSEHOLDS]
        [--extracts DIR] [--persons 20] [--runs 3] [--chromium /usr/bin/chromium]

`--build N` first generates N households (seed 20261101) into `DIR-extracts`, then
loads and links them into DIR with the `cpgraph` CLI (20,000 households ≈ 100k
persons). The bench adds an investigator, serves DIR with a real uvicorn process
(`CPGRAPH_ENV=prod`) and drives headless Chromium (Playwright, `executable_path`):

- **shell**: a cold load of `/` in a fresh browser context (Navigation Timing:
  `responseEnd`, `domContentLoadedEventEnd`, `loadEventEnd`; nothing cached).
- **profile** and **network**: signed in with a purpose, the app opens
  `#/person/<id>` then `#/network/<id>`; the app marks each screen from the route
  change to the screen drawn (`performance.measure("cpgraph:view:person" | ...)`:
  GraphQL request, JSON, DOM, and for the network the Cytoscape layout and draw).
- **possible matches**: the profile's possible matches arrive in a second request,
  after the rest of the profile is shown; from the same route change to that section
  filled (`cpgraph:profile:possible-matches`).
- **profile + network**: the two, one after the other (what an investigator waits for
  to see a person and their network), and **cold total** = shell + profile + network.

Persons: the children of the `new_partner` scenarios (flagged, the heaviest
households) and random persons from `truth.csv`, resolved through the API
(`record(key)`). Prints a JSON summary and a Markdown table (ms).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

PURPOSE = ("BENCH-0002", "web app load benchmark")
SERVER = (
    "import uvicorn; from cpgraph.api import create_app; "
    "uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning', "
    "access_log=False)"
)
CLI = [sys.executable, "-m", "cpgraph.cli"]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPGRAPH_")}
    # many simulated users share tokens far past the default rate limit: raised here
    return {
        **env,
        "CPGRAPH_DATA_DIR": str(data_dir),
        "CPGRAPH_ENV": "prod",
        **{"CPGRAPH_API_RATE_LIMIT_PER_S": "100000", "CPGRAPH_API_RATE_LIMIT_BURST": "100000"},
    }


def build(data_dir: Path, extracts: Path, households: int) -> None:
    """Generate, load and link a population with the CLI."""
    env = _env(data_dir)
    t0 = time.perf_counter()
    if not (extracts / "truth.csv").exists():
        subprocess.run(
            [
                *CLI,
                "generate",
                "--out",
                str(extracts),
                "--households",
                str(households),
                "--seed",
                "20261101",
            ],
            env=env,
            check=True,
        )
    subprocess.run([*CLI, "db", "init"], env=env, check=True)
    folders = sorted(str(p) for p in extracts.iterdir() if (p / "manifest.json").is_file())
    subprocess.run([*CLI, "load", *folders], env=env, check=True)
    subprocess.run([*CLI, "link"], env=env, check=True)
    print(f"built in {time.perf_counter() - t0:.0f}s", file=sys.stderr)


def add_investigator(data_dir: Path) -> str:
    """A new investigator's token (the CLI prints it once)."""
    name = f"bench-web-{int(time.time())}"
    done = subprocess.run(
        [*CLI, "users", "add", name, "--role", "investigator"],
        env=_env(data_dir),
        check=True,
        capture_output=True,
        text=True,
    )
    return re.findall(r"cpg_[A-Za-z0-9_-]+", done.stdout)[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(data_dir: Path) -> Iterator[str]:
    """The API and web app on `data_dir` in a child process; its base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(port=port)], env=_env(data_dir), stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                raise RuntimeError(f"server did not start: {err}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sample_persons(base: str, token: str, extracts: Path, n: int, seed: int) -> list[str]:
    """Scenario children first, then random persons, as person ids (via the API)."""
    keys: list[str] = []
    for item in json.loads((extracts / "scenarios.json").read_text(encoding="utf-8")):
        if item.get("scenario") == "new_partner":
            keys.extend(item.get("child_record_keys", [])[:1])
    scenario_keys = keys[: n // 2]
    with (extracts / "truth.csv").open(encoding="utf-8", newline="") as fh:
        all_keys = [row["record_key"] for row in csv.DictReader(fh)]
    rng = random.Random(seed)
    keys = scenario_keys + rng.sample(all_keys, n * 3)
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "; ".join(PURPOSE)}
    ids: list[str] = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        for key in keys:
            body = http.post(
                "/graphql",
                json={
                    "query": "query($k: String!) { record(key: $k) { person { id } } }",
                    "variables": {"k": key},
                },
            ).json()
            person = ((body.get("data") or {}).get("record") or {}).get("person")
            if person and person["id"] not in ids:
                ids.append(person["id"])
            if len(ids) >= n:
                break
    return ids


def _wait_measure(page: Any, name: str, count: int) -> float:
    page.wait_for_function(
        "([n, c]) => performance.getEntriesByName(n, 'measure').length >= c",
        arg=[name, count],
        timeout=30_000,
    )
    return float(
        page.evaluate(
            "([n, c]) => performance.getEntriesByName(n, 'measure')[c - 1].duration", [name, count]
        )
    )


def measure(base: str, token: str, persons: list[str], runs: int, chromium: str) -> dict:
    """Drive Chromium through every person's profile and network `runs` times."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    out: dict[str, list[float]] = {
        k: []
        for k in ("shell", "profile", "possible_matches", "network", "profile_network", "cold")
    }
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            for r in range(runs):
                for pid in persons:
                    context = browser.new_context(viewport={"width": 1280, "height": 900})
                    page = context.new_page()
                    page.goto(f"{base}/", wait_until="load")
                    nav = page.evaluate(
                        "(() => { const n = performance.getEntriesByType('navigation')[0];"
                        " return {load: n.loadEventEnd, dcl: n.domContentLoadedEventEnd}; })()"
                    )
                    page.get_by_label("API token").fill(token)
                    page.get_by_role("button", name="Sign in").click()
                    page.get_by_label("Case reference").fill(PURPOSE[0])
                    page.get_by_label("Reason").fill(PURPOSE[1])
                    page.get_by_role("button", name="Continue").click()
                    page.get_by_role("heading", name="Search people").wait_for()
                    page.evaluate(f"location.hash = '#/person/{pid}'")
                    profile = _wait_measure(page, "cpgraph:view:person", 1)
                    matches = _wait_measure(page, "cpgraph:profile:possible-matches", 1)
                    page.evaluate(f"location.hash = '#/network/{pid}'")
                    network = _wait_measure(page, "cpgraph:view:network", 1)
                    context.close()
                    if r == 0 and pid == persons[0]:
                        continue  # warm-up: the server's first queries
                    out["shell"].append(nav["load"])
                    out["profile"].append(profile)
                    out["possible_matches"].append(matches)
                    out["network"].append(network)
                    out["profile_network"].append(profile + network)
                    out["cold"].append(nav["load"] + profile + network)
        finally:
            browser.close()
    return out


def _stats(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {
        "n": len(xs),
        "p50": round(statistics.median(xs), 1),
        "p95": round(xs[min(len(xs) - 1, int(0.95 * len(xs)))], 1),
        "max": round(xs[-1], 1),
    }


def main() -> None:
    """Parse arguments, build if asked, measure, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--build", type=int, default=0, help="households to build first")
    parser.add_argument("--extracts", type=Path, default=None)
    parser.add_argument("--persons", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    extracts = args.extracts or args.data_dir.parent / f"{args.data_dir.name}-extracts"
    if args.build:
        build(args.data_dir, extracts, args.build)
    token = add_investigator(args.data_dir)
    with served(args.data_dir) as base:
        persons = sample_persons(base, token, extracts, args.persons, args.seed)
        times = measure(base, token, persons, args.runs, args.chromium)
        stats = httpx.get(f"{base}/metrics", timeout=10).status_code
    summary = {
        "persons_sampled": len(persons),
        "runs": args.runs,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}",
        "metrics_ok": stats == 200,
        **{k: _stats(v) for k, v in times.items()},
    }
    print(json.dumps(summary, indent=2))
    print("\n| measure | n | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|")
    for key in ("shell", "profile", "possible_matches", "network", "profile_network", "cold"):
        s = summary[key]
        print(f"| {key} | {s['n']} | {s['p50']} | {s['p95']} | {s['max']} |")


if __name__ == "__main__":
    main()
