"""The API end to end: a real uvicorn process owning its embedded store."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cpgraph.config import Settings
from cpgraph.security import Role, add_user, verify_chain
from cpgraph.store import create_store

pytestmark = pytest.mark.e2e

SERVER = "import uvicorn; from cpgraph.api import create_app; uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning')"  # noqa: E501


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_served_api_authenticates_audits_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir)
    async with create_store(settings) as store:
        await store.bootstrap()
        token = await add_user(store, "e2e-investigator", Role.INVESTIGATOR)
        await store.write_batches(
            "source_records_upsert",
            [
                {
                    "key": "health:patient:E1",
                    "system": "health",
                    "agency": "health",
                    "forename": "Ada",
                    "surname": "Lovelace",
                    "name_text": "Ada Lovelace",
                    "dob": "2015-12-10",
                }
            ],
        )
        await store.write_batches(
            "persons_resolve_upsert",
            [
                {
                    "key": "health:patient:E1",
                    "person_id": "per-e2e",
                    "display_name": "Ada Lovelace",
                    "created_at": "2024-01-01",
                    "probability": 1.0,
                    "method": "singleton",
                    "status": "singleton",
                    "breakdown": "[]",
                }
            ],
        )

    port = _free_port()
    env = {**os.environ, "CPGRAPH_DATA_DIR": str(data_dir), "CPGRAPH_ENV": "prod"}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(port=port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, (
                    proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                )
                assert time.monotonic() < deadline, "server did not become ready"
                await asyncio.sleep(0.2)
            query = {"query": '{ person(id: "per-e2e") { displayName datesOfBirth } }'}
            assert (await http.post("/graphql", json=query)).status_code == 401
            headers = {"Authorization": f"Bearer {token}", "X-Purpose": "CP-9; e2e check"}
            resp = await http.post("/graphql", json=query, headers=headers)
            assert resp.status_code == 200, resp.text
            assert resp.json()["data"]["person"] == {
                "displayName": "Ada Lovelace",
                "datesOfBirth": ["2015-12-10"],
            }
            search = {
                "query": '{ searchPeople(name: "Ada Lovelase") { edges { node { '
                "score person { id } } } } }"
            }
            resp = await http.post("/graphql", json=search, headers=headers)
            assert resp.json()["data"]["searchPeople"]["edges"][0]["node"]["person"]["id"] == (
                "per-e2e"
            )
    finally:
        proc.terminate()
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert proc.wait(timeout=30) in (0, -15)
    # The server closed its store on shutdown; the chain it wrote verifies.
    async with create_store(settings) as store:
        result = await verify_chain(store)
    assert result.ok and result.entries == 2
