"""The API end to end: a real uvicorn process owning its embedded store."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpgraph.config import Settings
from cpgraph.security import Role, add_user, verify_chain
from cpgraph.store import create_store
from tests.e2e.served import served_api
from tests.queries import with_test_queries

pytestmark = pytest.mark.e2e


async def test_served_api_authenticates_audits_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir)
    async with create_store(settings, with_test_queries()) as store:
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

    async with served_api(data_dir) as (http, proc):
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
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert proc.returncode in (0, -15)
    # The server closed its store on shutdown; the chain it wrote verifies.
    async with create_store(settings, with_test_queries()) as store:
        result = await verify_chain(store)
        rows = await store.query(
            "audit_entries_page", after_seq=0, limit=10, user="anonymous", person_id=None
        )
    # two reads, and the refused request: written by the server's refusal flusher
    assert result.ok and result.entries == 3
    assert [r["entry"]["action"].split(" first=")[0] for r in rows] == [
        "refused:UNAUTHENTICATED http:POST /graphql count=1"
    ]
