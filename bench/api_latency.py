"""API latency: profile, search, 2-hop network and connections over HTTP vs raw Cypher.

Usage:
    .venv/bin/python bench/api_latency.py --data-dir DIR [--build HOUSEHOLDS]
        [--requests 300] [--seed 11]

`--build N` first generates N households (seed 20261101), loads, links and computes
flags into DIR (skip it to reuse a store built earlier). Then this process opens the
store (owning the embedded FalkorDB), creates an investigator token, picks sample
persons, and starts a real uvicorn server on 127.0.0.1 in a subprocess that shares
the same database. Each operation runs `--requests` times sequentially (after a
warm-up) through httpx, and the same named Cypher queries its resolvers run are
timed directly on the store in this process. Prints p50/p95 (ms) and requests per
second for both, and the API overhead (API p50 - raw p50).

Search runs twice: by display name only (`search`) and by display name with the
person's date of birth (`search_dob`). Its raw column replays, per sample, exactly
the candidate queries `find_candidates` issued for it (recorded in a first pass),
so it covers the wider second query whenever the resolver sends it.

`--quality N` then checks that the search stays good: for N sampled persons it makes
searches from one of their records (as recorded; a typo in the forename; in the
surname, with DOB; a nickname; the DOB day/month transposed; a new surname with the
DOB; another record's spelling, with that record hidden) and reports how often the
person comes first and in the top 5, for the current search and for the previous
one (OR of all tokens, 200 candidates fetched as full records).
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
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from cpgraph.config import Settings
from cpgraph.flags.service import page_rows
from cpgraph.graphql.data import RecordData, parse_date
from cpgraph.graphql.insight import _Search
from cpgraph.graphql.search import (
    Candidate,
    find_candidates,
    fulltext_text,
    name_tokens,
    nickname_variants,
    rank,
)
from cpgraph.security import Role, add_user
from cpgraph.store import GraphStore, create_store

NO_RATE_LIMIT = {"CPGRAPH_API_RATE_LIMIT_PER_S": "100000", "CPGRAPH_API_RATE_LIMIT_BURST": "100000"}
SERVER = (
    "import uvicorn; from cpgraph.api import create_app; "
    "uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning', "
    "access_log=False)"
)
PURPOSE = "BENCH-0001; api latency benchmark"
PROFILE = """query($id: ID!) { person(id: $id) {
  id displayName datesOfBirth agencies { agency recordCount }
  household { type person { id } }
  timeline(first: 20) { edges { node { id type date } } }
  flags { code reason }
} }"""
SEARCH = """query($n: String!) { searchPeople(name: $n, first: 10) {
  edges { node { score person { id } } } } }"""
SEARCH_DOB = """query($n: String!, $d: Date) { searchPeople(name: $n, dateOfBirth: $d, first: 10) {
  edges { node { score person { id } } } } }"""
NETWORK = """query($id: ID!) { network(personId: $id, depth: 2, first: 200) {
  nodes { id hops } edges { source target relationship } truncated } }"""
CONNECTIONS = """query($a: ID!, $b: ID!) { connections(fromId: $a, toId: $b, maxDepth: 6) {
  length paths { length hops { kind relationship from { id } to { id } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def build(data_dir: Path, households: int) -> None:
    """Generate, load, link and flag a population into `data_dir`."""
    from cpgraph.flags import compute_flags  # noqa: PLC0415
    from cpgraph.generate import generate  # noqa: PLC0415
    from cpgraph.ingest.engine import load_extracts  # noqa: PLC0415
    from cpgraph.steward.linking import linkage_service  # noqa: PLC0415

    out = data_dir.parent / f"{data_dir.name}-extracts"
    if not (out / "truth.csv").exists():
        generate(out, households=households, seed=20261101, error_rate=0.02)
    settings = Settings(data_dir=data_dir)
    async with create_store(settings) as store:
        await store.bootstrap()
        t0 = time.perf_counter()
        await load_extracts(store, sorted(p for p in out.iterdir() if p.is_dir()))
        t1 = time.perf_counter()
        report = await linkage_service(store, settings).link()
        t2 = time.perf_counter()
        flags = await compute_flags(store)
        print(
            f"built: {report.mentions} mentions, {report.persons} persons, {flags.flags} flags "
            f"(load {t1 - t0:.0f}s, link {t2 - t1:.0f}s, flags {flags.seconds:.0f}s)"
        )


async def samples(store: GraphStore, n: int, seed: int) -> dict[str, list[Any]]:
    """Persons with relationships, their display names, and pairs up to 3 hops apart."""
    rows = await store.query("flags_persons_page", after="", limit=200_000)
    ids = sorted(str(r[0]) for r in page_rows(rows))
    rng = random.Random(seed)
    rng.shuffle(ids)
    chosen: list[str] = []
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        rels = await store.query("api_persons_relationships", ids=batch)
        with_rels = sorted({r["person_id"] for r in rels})
        chosen.extend(with_rels)
        if len(chosen) >= n:
            break
    chosen = chosen[:n]
    profiles = await store.query("api_persons_profile", ids=chosen)
    dobs: dict[str, str] = {}
    for r in profiles:
        dob = (r.get("record") or {}).get("dob")
        if r.get("display_name") and dob:
            dobs.setdefault(r["display_name"], str(dob)[:10])
    names = sorted({r["display_name"] for r in profiles if r.get("display_name")})
    rng.shuffle(names)
    named_dobs = sorted(dobs.items())
    rng.shuffle(named_dobs)
    pairs = []
    for pid in chosen:
        paths = await store.query("api_network_paths", person_id=pid, depth=3, types=[], limit=200)
        far = [p["rels"][-1]["to_id"] for p in paths if len(p["rels"]) == 3]
        far = [f for f in far if f != pid]
        if far:
            pairs.append((pid, rng.choice(far)))
    return {"ids": chosen, "names": names[:n], "pairs": pairs, "named_dobs": named_dobs[:n]}


def _stats(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    q = statistics.quantiles(times, n=100, method="inclusive")
    return {
        "n": len(times),
        "p50_ms": round(q[49] * 1000, 2),
        "p95_ms": round(q[94] * 1000, 2),
        "rps": round(len(times) / sum(times), 1),
    }


async def _time(call: Callable[[int], Awaitable[Any]], n: int, warmup: int = 20) -> list[float]:
    for i in range(warmup):
        await call(i)
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        await call(i)
        out.append(time.perf_counter() - t0)
    return out


class _Recorder:
    """A store stand-in that records the queries `find_candidates` sends through it."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.calls: list[dict[str, Any]] = []

    async def query(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        assert name == "search_person_candidates", name
        self.calls.append(params)
        return await self.store.query("search_person_candidates", **params)


async def search_plans(
    store: GraphStore, dialect: str, asks: list[tuple[str, str | None]]
) -> list[list[dict[str, Any]]]:
    """The candidate queries the resolver sends for each (name, dob) asked."""
    plans = []
    for name, dob in asks:
        rec = _Recorder(store)
        day = date.fromisoformat(dob) if dob else None
        await find_candidates(rec, dialect, name_tokens(name), day, None)  # type: ignore[arg-type]
        plans.append(rec.calls)
    return plans


class _Ctx:
    """The slice of RequestContext `_Search` uses."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def saw_person(self, person_id: str) -> None:
        del person_id


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir: Path = args.data_dir.resolve()
    settings = Settings(data_dir=data_dir)
    async with create_store(settings) as store:
        token = await add_user(store, f"bench-{int(time.time())}", Role.INVESTIGATOR)
        sample = await samples(store, args.requests, args.seed)
        stats = await store.stats()
        persons = stats.nodes.get("Person", 0)
        mentions = stats.nodes.get("SourceRecord", 0)
        ids, names, pairs = sample["ids"], sample["names"], sample["pairs"]
        named_dobs = sample["named_dobs"]
        dialect = store.registry.dialect
        plans = await search_plans(store, dialect, [(n, None) for n in names])
        dob_plans = await search_plans(store, dialect, named_dobs)
        widened = {
            "search": sum(len(p) > 1 for p in plans),
            "search_dob": sum(len(p) > 1 for p in dob_plans),
        }

        async def raw_profile(i: int) -> None:
            pid = [ids[i % len(ids)]]
            await store.query("api_persons_profile", ids=pid)
            await store.query("api_persons_relationships", ids=pid)
            await store.query("api_persons_events", ids=pid)
            await store.query("api_persons_flags", ids=pid)

        async def replay(plan: list[dict[str, Any]]) -> None:
            for params in plan:
                await store.query(
                    "search_person_candidates",
                    exact=params["exact"],
                    text=params["text"],
                    limit=params["limit"],
                    dobs=params["dobs"],
                    dob_limit=params["dob_limit"],
                )

        async def raw_search(i: int) -> None:
            await replay(plans[i % len(plans)])

        async def raw_search_dob(i: int) -> None:
            await replay(dob_plans[i % len(dob_plans)])

        async def raw_network(i: int) -> None:
            await store.query(
                "api_network_paths", person_id=ids[i % len(ids)], depth=2, types=[], limit=2000
            )

        async def raw_connections(i: int) -> None:
            a, b = pairs[i % len(pairs)]
            await _Search(_Ctx(store), a, b).run(6)  # type: ignore[arg-type]

        raw = {
            "profile": _stats(await _time(raw_profile, args.requests)),
            "search": _stats(await _time(raw_search, args.requests)),
            "search_dob": _stats(await _time(raw_search_dob, args.requests)),
            "network_2hop": _stats(await _time(raw_network, args.requests)),
            "connections": _stats(await _time(raw_connections, args.requests)),
        }

        port = _free_port()
        env = {**os.environ, "CPGRAPH_DATA_DIR": str(data_dir), "CPGRAPH_ENV": "prod"}
        # one token far past the default rate limit (20/s, bursts of 40): raised here
        env.update(NO_RATE_LIMIT)
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVER.format(port=port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            headers = {"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE}
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30
            ) as http:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if (await http.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if proc.poll() is not None or time.monotonic() > deadline:
                        err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                        raise SystemExit(f"server did not start: {err}")
                    await asyncio.sleep(0.2)

                def post(query: str, make: Callable[[int], dict[str, Any]]) -> Callable:
                    async def call(i: int) -> None:
                        resp = await http.post(
                            "/graphql", json={"query": query, "variables": make(i)}
                        )
                        body = resp.json()
                        if resp.status_code != 200 or body.get("errors"):
                            raise SystemExit(f"request failed: {resp.status_code} {body}")

                    return call

                api = {
                    "profile": _stats(
                        await _time(
                            post(PROFILE, lambda i: {"id": ids[i % len(ids)]}), args.requests
                        )
                    ),
                    "search": _stats(
                        await _time(
                            post(SEARCH, lambda i: {"n": names[i % len(names)]}), args.requests
                        )
                    ),
                    "search_dob": _stats(
                        await _time(
                            post(
                                SEARCH_DOB,
                                lambda i: {
                                    "n": named_dobs[i % len(named_dobs)][0],
                                    "d": named_dobs[i % len(named_dobs)][1],
                                },
                            ),
                            args.requests,
                        )
                    ),
                    "network_2hop": _stats(
                        await _time(
                            post(NETWORK, lambda i: {"id": ids[i % len(ids)]}), args.requests
                        )
                    ),
                    "connections": _stats(
                        await _time(
                            post(
                                CONNECTIONS,
                                lambda i: {
                                    "a": pairs[i % len(pairs)][0],
                                    "b": pairs[i % len(pairs)][1],
                                },
                            ),
                            args.requests,
                        )
                    ),
                }
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {
        "persons": persons,
        "mentions": mentions,
        "requests_per_operation": args.requests,
        "connection_pairs": len(pairs),
        "search_widened": widened,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "api": api,
        "raw": raw,
        "overhead_p50_ms": {k: round(api[k]["p50_ms"] - raw[k]["p50_ms"], 2) for k in api},
    }


class _Hiding:
    """A store stand-in that hides one source record from every answer."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.hidden: str | None = None
        self.registry = store.registry

    async def query(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        rows = await self.store.query(name, **params)
        return [r for r in rows if r.get("key") != self.hidden]


async def previous_search(
    store: _Hiding, tokens: list[str], dob: date | None, postcode: str | None
) -> list[Candidate]:
    """The search before the AND/exact/date-of-birth arms: OR of tokens, 200 full records."""
    dialect = store.registry.dialect
    rows = await store.query(
        "fulltext_person_names", text=fulltext_text(dialect, tokens), limit=200
    )
    found = await store.query("api_records_by_key", keys=[r["key"] for r in rows])
    records = [RecordData(props=r["record"], person_id=r.get("person_id")) for r in found]
    return rank(tokens, dob, postcode, records)


def _typo(word: str, rng: random.Random) -> str:
    """One random edit inside a word: swap, drop, change or add a letter."""
    i = rng.randrange(1, len(word) - 1)
    letter = rng.choice("aeiounrst")
    return rng.choice(
        [
            word[:i] + word[i + 1] + word[i] + word[i + 2 :],
            word[:i] + word[i + 1 :],
            word[:i] + letter + word[i + 1 :],
            word[:i] + letter + word[i:],
        ]
    )


async def quality(args: argparse.Namespace) -> dict[str, Any]:
    """Top-1 / top-5 of the current and the previous search on perturbed searches."""
    rng = random.Random(args.seed)
    async with create_store(Settings(data_dir=args.data_dir.resolve())) as store:
        page = await store.query("flags_persons_page", after="", limit=200_000)
        ids = sorted(str(r[0]) for r in page_rows(page))
        rng.shuffle(ids)
        rows = await store.query("api_persons_profile", ids=ids[: args.quality])
        by_person: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            if row.get("record") and row["person_id"] == row["requested_id"]:
                by_person.setdefault(row["person_id"], []).append(row["record"])
        cases: list[tuple[str, str, date | None, str, str | None]] = []
        for pid, records in by_person.items():
            records.sort(key=lambda r: r["key"])
            first = records[0]
            fore, sur = str(first.get("forename") or ""), str(first.get("surname") or "")
            if len(fore) < 4 or len(sur) < 4:
                continue
            dob = parse_date(first.get("dob"))
            cases.append(("as recorded", f"{fore} {sur}", None, pid, None))
            cases.append(("forename typo", f"{_typo(fore, rng)} {sur}", None, pid, None))
            cases.append(("surname typo + DOB", f"{fore} {_typo(sur, rng)}", dob, pid, None))
            nicks = nickname_variants(name_tokens(fore)[0]) if name_tokens(fore) else ()
            if nicks:
                cases.append(("nickname", f"{rng.choice(nicks)} {sur}", None, pid, None))
            if dob and dob.day <= 12 and dob.day != dob.month:
                swapped = date(dob.year, dob.day, dob.month)
                cases.append(("DOB transposed", f"{fore} {sur}", swapped, pid, None))
            if dob:
                cases.append(("new surname + DOB", f"{fore} Fairweather", dob, pid, None))
            spelt = {
                " ".join(name_tokens(f"{r.get('forename')} {r.get('surname')}"))
                for r in records[1:]
            }
            if spelt and " ".join(name_tokens(f"{fore} {sur}")) not in spelt:
                cases.append(("other record's spelling", f"{fore} {sur}", dob, pid, first["key"]))
        hiding = _Hiding(store)
        dialect = store.registry.dialect

        async def previous(tokens: list[str], dob: date | None, pc: str | None) -> list[Candidate]:
            return await previous_search(hiding, tokens, dob, pc)

        async def current(tokens: list[str], dob: date | None, pc: str | None) -> list[Candidate]:
            return await find_candidates(hiding, dialect, tokens, dob, pc)  # type: ignore[arg-type]

        out: dict[str, Any] = {"cases": len(cases), "by_case": {}, "latency": {}}
        for label, search in (("previous", previous), ("current", current)):
            times = []
            for kind, name, dob, pid, hidden in cases:
                hiding.hidden = hidden
                t0 = time.perf_counter()
                ranked = await search(name_tokens(name), dob, None)
                times.append(time.perf_counter() - t0)
                pos = next((i for i, c in enumerate(ranked) if c.person_id == pid), None)
                tally = out["by_case"].setdefault(kind, {}).setdefault(label, [0, 0, 0])
                tally[0] += 1
                tally[1] += pos == 0
                tally[2] += pos is not None and pos < 5
            out["latency"][label] = _stats(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--build", type=int, default=0, help="households to build first")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--quality", type=int, default=0, help="persons to check search on")
    args = parser.parse_args()
    if args.build:
        asyncio.run(build(args.data_dir.resolve(), args.build))
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2))
    print("\n| operation | API p50 | API p95 | API req/s | raw p50 | raw p95 | overhead p50 |")
    print("|---|---|---|---|---|---|---|")
    for op, a in result["api"].items():
        r = result["raw"][op]
        print(
            f"| {op} | {a['p50_ms']} ms | {a['p95_ms']} ms | {a['rps']} | {r['p50_ms']} ms | "
            f"{r['p95_ms']} ms | {result['overhead_p50_ms'][op]} ms |"
        )
    if args.quality:
        checked = asyncio.run(quality(args))
        print(f"\nsearch quality, {checked['cases']} searches: {json.dumps(checked['latency'])}")
        print("\n| search | n | previous top-1 | previous top-5 | current top-1 | current top-5 |")
        print("|---|---|---|---|---|---|")
        for kind, tallies in checked["by_case"].items():
            (n, p1, p5), (_, c1, c5) = tallies["previous"], tallies["current"]
            print(f"| {kind} | {n} | {p1 / n:.3f} | {p5 / n:.3f} | {c1 / n:.3f} | {c5 / n:.3f} |")


if __name__ == "__main__":
    main()
