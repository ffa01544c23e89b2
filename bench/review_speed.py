"""Steward review speed: queue pages, decisions, /healthz under load, `cpgraph review`.

Usage:
    .venv/bin/python bench/review_speed.py --data-dir DIR [--requests 200]
        [--decisions 60] [--heavy 8] [--load-seconds 20]

DIR must hold a loaded and linked store (`cpgraph load ...; cpgraph link`; run
`cpgraph db init` after upgrading so the queue's indexes exist). This process opens
the store (owning the embedded FalkorDB), adds a data steward and an investigator
token, and starts a real uvicorn server on 127.0.0.1 in a subprocess sharing the same
database. Everything is timed end to end as a user meets it:

- `queue_first`: `reviewQueue(first: 20)` with every field a steward's screen shows;
- `queue_later`: the same for pages further in (cursors 20-60 pages deep, found by
  walking the queue once), and with filters (source system, reason, probability band,
  flagged child);
- `decide`: `decideMatch` on distinct candidates (LINK, NO_LINK and DEFER in turn),
  then `mergePersons`, `splitPerson` and `unlinkRecord`;
- `healthz_under_load`: `/healthz` every 20 ms while `--heavy` clients run heavy
  queries back to back (queue pages of 100 with filters, 3-hop networks of 500
  nodes, searches); with the heavy queries' own latencies and any 503s;
- `review_first_pair`: `cpgraph review --limit 1` as a subprocess (token in
  CPGRAPH_TOKEN), from process start to the first pair on its stdout.

Prints a JSON summary and a markdown table (p50/p95/p99 in ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from cpgraph.config import Settings
from cpgraph.security import Role, add_user
from cpgraph.store import create_store

NO_RATE_LIMIT = {"CPGRAPH_API_RATE_LIMIT_PER_S": "100000", "CPGRAPH_API_RATE_LIMIT_BURST": "100000"}
SERVER = (
    "import uvicorn; from cpgraph.api import create_app; "
    "uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning', "
    "access_log=False)"
)
PURPOSE = "BENCH-0002; review speed benchmark"
ITEM = """id version status probability weight consequence reason stale flaggedChild
  recordA { key forename surname dateOfBirth postcode agency }
  recordB { key forename surname dateOfBirth postcode agency }
  personA { id displayName recordKeys agencies isChild policeHistory householdSize concernCount }
  personB { id displayName recordKeys agencies isChild policeHistory householdSize concernCount }
  weights { prior final probability steps { label level contribution cumulative } }
  impact { survivingPersonId retiredPersonId recordsMoved agenciesAdded relationshipsGained
           concernsGained reasons summary }"""
QUEUE = (
    """query($first: Int!, $after: String, $system: String, $reason: String,
  $minP: Float! = 0, $flagged: Boolean) {
  reviewQueue(first: $first, after: $after, system: $system, reason: $reason,
              minProbability: $minP, flaggedChild: $flagged) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { """
    + ITEM
    + """ } } } }"""
)
DECIDE = """mutation($id: ID!, $d: MatchDecision!) {
  decideMatch(candidateId: $id, decision: $d, reason: "benchmark decision")
  { decisionId candidateVersion } }"""
MERGE = """mutation($ids: [ID!]!) { mergePersons(ids: $ids, reason: "benchmark merge")
  { decisionId retired after { personId recordKeys } before { personId recordKeys } } }"""
SPLIT = """mutation($p: ID!, $k: [String!]!) {
  splitPerson(personId: $p, recordKeys: $k, reason: "benchmark split") { decisionId } }"""
UNLINK = """mutation($k: String!) { unlinkRecord(recordKey: $k, reason: "benchmark unlink")
  { decisionId } }"""
NETWORK = """query($id: ID!) { network(personId: $id, depth: 3, first: 500, includeEvents: true) {
  nodes { id hops } edges { source target relationship } truncated } }"""
SEARCH = """query($n: String!) { searchPeople(name: $n, first: 50) {
  edges { node { score person { id displayName } } } } }"""


# /healthz every 20 ms for the given seconds, after a 1 s wait; prints the latencies.
PROBE = """
import json, sys, time, httpx
base, seconds = sys.argv[1], float(sys.argv[2])
times = []
with httpx.Client(base_url=base, timeout=60) as http:
    http.get("/healthz")
    time.sleep(1.0)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        assert http.get("/healthz").status_code == 200
        times.append(time.perf_counter() - t0)
        time.sleep(0.02)
print(json.dumps(times))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stats(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    q = statistics.quantiles(times, n=100, method="inclusive")
    return {
        "n": len(times),
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
    }


def machine() -> str:
    """CPU model, cores and Python of this machine."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpu = model or platform.processor()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


class Api:
    """A GraphQL client with a bearer token and purpose."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE}

    async def post(self, query: str, **variables: Any) -> httpx.Response:
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers
        )

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        r = await self.post(query, **variables)
        body = r.json()
        if r.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"{r.status_code}: {json.dumps(body.get('errors'))[:300]}")
        return body["data"]


async def timed(call: Any, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        await call(i)
        out.append(time.perf_counter() - t0)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir: Path = args.data_dir.resolve()
    settings = Settings(data_dir=data_dir)
    rng = random.Random(args.seed)
    async with create_store(settings) as store:
        await store.bootstrap()
        stamp = int(time.time())
        steward = await add_user(store, f"bench-steward-{stamp}", Role.DATA_STEWARD)
        investigator = await add_user(store, f"bench-inv-{stamp}", Role.INVESTIGATOR)
        stats = await store.stats()
        open_items = (await store.query("linkage_review_open_count"))[0]["open"]
        port = _free_port()
        env = {**os.environ, "CPGRAPH_DATA_DIR": str(data_dir), "CPGRAPH_ENV": "prod"}
        env.pop("CPGRAPH_FALKORDB_URL", None)
        # one token far past the default rate limit (20/s, bursts of 40): raised here
        env.update(NO_RATE_LIMIT)
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVER.format(port=port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
                for _ in range(600):
                    try:
                        if (await http.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                result = await measure(args, http, steward, investigator, rng)
        except Exception:
            proc.terminate()
            _, err = proc.communicate(timeout=60)
            print(err.decode()[-3000:], file=sys.stderr)
            raise
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=60)
        result["review_first_pair"] = review_first_pair(data_dir, steward, args.review_runs)
    result["store"] = {
        "mentions": stats.nodes.get("SourceRecord", 0),
        "persons": stats.nodes.get("Person", 0),
        "review_candidates": stats.nodes.get("ReviewCandidate", 0),
        "open_items": open_items,
    }
    result["machine"] = machine()
    return result


async def measure(
    args: argparse.Namespace,
    http: httpx.AsyncClient,
    steward: str,
    investigator: str,
    rng: random.Random,
) -> dict[str, Any]:
    api = Api(http, steward)
    inv = Api(http, investigator)
    out: dict[str, Any] = {}
    # walk the queue once: cursors for later pages, candidates to decide on
    cursors: list[str] = []
    items: list[dict[str, Any]] = []
    after = None
    for _ in range(args.walk_pages):
        page = (await api.data(QUEUE, first=100, after=after))["reviewQueue"]
        items.extend(e["node"] for e in page["edges"])
        cursors.extend(e["cursor"] for e in page["edges"][19::20])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    later = cursors[20:60] or cursors[1:]
    systems = sorted({it["recordA"]["key"].split(":")[0] for it in items})
    reasons = sorted({it["reason"] for it in items})
    for _ in range(10):  # warm-up
        await api.data(QUEUE, first=20)
    out["queue_first"] = _stats(await timed(lambda i: api.data(QUEUE, first=20), args.requests))
    out["queue_later"] = _stats(
        await timed(lambda i: api.data(QUEUE, first=20, after=later[i % len(later)]), args.requests)
    )
    filters = [
        {"system": systems[0]},
        {"system": systems[-1]},
        {"reason": reasons[-1]},
        {"minP": 0.9},
        {"flagged": True},
    ]
    out["queue_filtered"] = _stats(
        await timed(
            lambda i: api.data(
                QUEUE,
                first=20,
                after=later[i % len(later)] if i % 2 else None,
                **filters[i % len(filters)],
            ),
            args.requests,
        )
    )
    # decisions on distinct candidates, from the back of what was walked
    pool = items[len(items) // 2 :]
    rng.shuffle(pool)
    verdicts = ["DEFER", "NO_LINK", "LINK"]
    decided: list[float] = []
    for i, it in enumerate(pool[: args.decisions]):
        t0 = time.perf_counter()
        r = await api.post(DECIDE, id=it["id"], d=verdicts[i % 3])
        decided.append(time.perf_counter() - t0)
        errors = r.json().get("errors")
        if errors and errors[0]["extensions"]["code"] != "CONFLICT":
            raise RuntimeError(json.dumps(errors)[:300])
    out["decide"] = _stats(decided)
    merges, splits, unlinks = [], [], []
    rest = [it for it in pool[args.decisions :] if it["personA"] and it["personB"]][
        : args.structural
    ]
    for it in rest:
        t0 = time.perf_counter()
        m = await api.post(MERGE, ids=[it["personA"]["id"], it["personB"]["id"]])
        merges.append(time.perf_counter() - t0)
        body = m.json()
        if body.get("errors"):
            continue
        merged = body["data"]["mergePersons"]
        survivor = merged["after"][0]
        part = next(p for p in merged["before"] if p["personId"] in merged["retired"])
        t0 = time.perf_counter()
        await api.data(SPLIT, p=survivor["personId"], k=part["recordKeys"])
        splits.append(time.perf_counter() - t0)
        keys = survivor["recordKeys"]
        if len(keys) > len(part["recordKeys"]) + 1:
            stay = [k for k in keys if k not in part["recordKeys"]]
            t0 = time.perf_counter()
            await api.data(UNLINK, k=stay[0])
            unlinks.append(time.perf_counter() - t0)
    for name, times in (("merge", merges), ("split", splits), ("unlink", unlinks)):
        if len(times) >= 2:
            out[name] = _stats(times)
    # /healthz while heavy queries run
    person_ids = sorted({it[p]["id"] for it in items for p in ("personA", "personB") if it[p]})
    names = sorted(
        {
            f"{it['recordA']['forename']} {it['recordA']['surname']}"
            for it in items
            if it["recordA"].get("forename") and it["recordA"].get("surname")
        }
    )
    heavy_times: list[float] = []
    refused = 0
    stop = asyncio.Event()

    async def heavy(worker: int) -> None:
        nonlocal refused
        n = 0
        while not stop.is_set():
            kind = args.heavy_kinds[(worker + n) % len(args.heavy_kinds)]
            t0 = time.perf_counter()
            if kind == "queue":
                r = await api.post(
                    QUEUE,
                    first=100,
                    after=later[n % len(later)],
                    **filters[n % len(filters)],
                )
            elif kind == "network":
                r = await inv.post(NETWORK, id=person_ids[(worker * 97 + n) % len(person_ids)])
            else:
                r = await inv.post(SEARCH, n=names[(worker * 31 + n) % len(names)])
            heavy_times.append(time.perf_counter() - t0)
            refused += r.status_code == 503
            n += 1

    # the probe runs in its own process, so that this process's work (reading the heavy
    # answers) never delays it: what it measures is the server
    prober = subprocess.Popen(
        [sys.executable, "-c", PROBE, str(http.base_url), str(args.load_seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    tasks = [asyncio.ensure_future(heavy(w)) for w in range(args.heavy)]
    await asyncio.sleep(1.0)  # let the load build up
    started = prober  # the probe process waits 1 s itself too
    probed = await asyncio.to_thread(started.communicate, None, args.load_seconds + 120)
    stop.set()
    await asyncio.gather(*tasks)
    probes = json.loads(probed[0])
    out["healthz_under_load"] = _stats(probes)
    out["heavy_queries"] = {**_stats(heavy_times), "refused_503": refused}
    return out


def review_first_pair(data_dir: Path, token: str, runs: int) -> dict[str, Any]:
    """`cpgraph review --limit 1` from process start to its first pair on stdout."""
    exe = Path(sys.executable).with_name("cpgraph")
    env = {
        **os.environ,
        "CPGRAPH_DATA_DIR": str(data_dir),
        "CPGRAPH_TOKEN": token,
        "COLUMNS": "160",
    }
    env.pop("CPGRAPH_FALKORDB_URL", None)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [str(exe), "review", "--limit", "1"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        first = None
        for line in proc.stdout:
            if "candidate rc-" in line:
                first = time.perf_counter() - t0
                break
        out, err = proc.communicate("q\n", timeout=120)
        if first is None:
            raise RuntimeError(f"cpgraph review showed no pair: {err[-500:]}")
        times.append(first)
    times.sort()
    return {
        "runs": runs,
        "median_s": round(times[len(times) // 2], 2),
        "max_s": round(times[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--decisions", type=int, default=60)
    parser.add_argument("--structural", type=int, default=10, help="merge/split/unlink rounds")
    parser.add_argument("--walk-pages", type=int, default=15, help="pages of 100 walked")
    parser.add_argument("--heavy", type=int, default=8, help="concurrent heavy clients")
    parser.add_argument("--load-seconds", type=float, default=20)
    parser.add_argument(
        "--heavy-kinds",
        type=lambda v: v.split(","),
        default=["queue", "network", "search"],
        help="what the heavy clients run, in turn (queue, network, search)",
    )
    parser.add_argument("--review-runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2))
    print("\n| operation | n | p50 | p95 | p99 | max |")
    print("|---|---|---|---|---|---|")
    for op in (
        "queue_first",
        "queue_later",
        "queue_filtered",
        "decide",
        "merge",
        "split",
        "unlink",
        "healthz_under_load",
        "heavy_queries",
    ):
        s = result.get(op)
        if s:
            print(
                f"| {op} | {s['n']} | {s['p50_ms']} ms | {s['p95_ms']} ms | {s['p99_ms']} ms "
                f"| {s['max_ms']} ms |"
            )
    rf = result["review_first_pair"]
    print(f"\n`cpgraph review` first pair: median {rf['median_s']} s, max {rf['max_s']} s")


if __name__ == "__main__":
    main()
