"""A populated data dir served by a real `cpgraph` server, for the browser tests.

`build_world` generates a small synthetic population (the `alias_heavy` profile),
loads and links it with a spec that keeps a new partner's aliased history apart
(so a child carries a POSSIBLE flag and the steward queue has work), computes
flags and adds one user per role. `serve` runs uvicorn on that data dir in a
child process (the store is closed first; the server owns it) and stops it.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from cpgraph.config import Backend, Settings
from cpgraph.flags import compute_flags
from cpgraph.ingest.engine import load_extracts
from cpgraph.linkage.spec import DEFAULT_SPEC_PATH, loads_spec
from cpgraph.security import Role, add_user
from cpgraph.steward.linking import linkage_service
from cpgraph.store import create_store
from tests.factories import make_population

SERVER = (
    "import uvicorn; from cpgraph.api import create_app; "
    "uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning')"
)


@dataclass
class World:
    """What the browser tests need to know about the populated data dir."""

    data_dir: Path
    tokens: dict[str, str]
    possible_child: str | None
    """A person with a POSSIBLE flag (new partner's aliased history kept apart)."""
    child_name: str | None


async def _build(root: Path, households: int, seed: int) -> World:
    pop = make_population(root / "pop", households=households, seed=seed, profile="alias_heavy")
    settings = Settings(backend=Backend.FALKORDB, data_dir=root / "data", falkordb_url=None)
    text = DEFAULT_SPEC_PATH.read_text()
    spec = loads_spec(text.replace("alias_corroborates = true", "alias_corroborates = false"))
    store = create_store(settings)
    await store.start()
    try:
        await store.bootstrap()
        await load_extracts(store, pop.extracts())
        await linkage_service(store, settings, spec=spec).link()
        await compute_flags(store)
        tokens = {r.value: await add_user(store, f"{r.value}-web", r) for r in Role}
        child: dict[str, str] = {}
        for item in pop.scenarios():
            if item.get("scenario") != "new_partner" or child:
                continue
            for key in item.get("child_record_keys", []):
                rows = await store.query("demo_scenario_person", key=key)
                if not rows:
                    continue
                flags = await store.query("api_persons_flags", ids=[rows[0]["person_id"]])
                if any(dict(f["flag"]).get("confidence") == "POSSIBLE" for f in flags):
                    child = {"id": rows[0]["person_id"], "name": rows[0]["display_name"]}
                    break
    finally:
        await store.close()
    return World(root / "data", tokens, child.get("id"), child.get("name"))


def build_world(root: Path, households: int = 60, seed: int = 3) -> World:
    """Generate, load, link and flag a population under `root`; add one user per role.

    Runs in a thread of its own: Playwright's sync API keeps an event loop running in
    the test thread.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _build(root, households, seed)).result()


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(data_dir: Path, *, env: str = "dev", ready_within: float = 90) -> Iterator[str]:
    """Serve the API and web app on `data_dir` until the block ends; yields its base URL."""
    port = free_port()
    environ = {**os.environ, "CPGRAPH_DATA_DIR": str(data_dir), "CPGRAPH_ENV": env}
    environ.pop("CPGRAPH_FALKORDB_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(port=port)],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_within
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                raise RuntimeError(f"server exited: {err}")
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become ready")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":  # a world for trying the app by hand
    out = Path(sys.argv[1])
    world = build_world(out)
    print(json.dumps({**world.__dict__, "data_dir": str(world.data_dir)}, indent=2))
