"""The steward API end to end: a real uvicorn process owning its embedded store.

Generated extracts are loaded and linked; a data steward reads the review queue,
merges, splits back and decides a candidate over HTTP, two concurrent decisions on
one candidate end in one win and one CONFLICT, and `cpgraph link --full` afterwards
keeps every decision. The audit chain verifies at the end.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from cpgraph.config import Backend, Settings
from cpgraph.ingest.engine import load_extracts
from cpgraph.linkage.service import LinkageService
from cpgraph.security import Role, add_user, verify_chain
from cpgraph.steward.decisions import load_decisions
from cpgraph.steward.linking import linkage_service
from cpgraph.store import create_store
from tests.e2e.served import served_api
from tests.factories import make_population

pytestmark = pytest.mark.e2e

PURPOSE = "DQ-2024-07; weekly match review"
QUEUE = "{ reviewQueue(first: 5) { totalCount edges { node { id version personA { id } personB { id } } } } }"  # noqa: E501
DECIDE = """mutation($id: ID!, $d: MatchDecision!, $v: Int) {
  decideMatch(candidateId: $id, decision: $d, reason: "checked both records", expectedVersion: $v)
  { decisionId candidateVersion } }"""
# two arbitrary persons may hold different valid identifiers: the steward overrides
MERGE = """mutation($ids: [ID!]!) { mergePersons(ids: $ids, reason: "same woman, married name",
  overrideIdentifierConflict: true) { decisionId retired after { personId recordKeys } } }"""
SPLIT = """mutation($p: ID!, $k: [String!]!) {
  splitPerson(personId: $p, recordKeys: $k, reason: "the merge was wrong")
  { decisionId revived supersedes after { personId recordKeys } } }"""


async def _post(http: httpx.AsyncClient, token: str, query: str, **variables: Any) -> dict:
    resp = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE},
    )
    return resp.json()


async def test_steward_decisions_over_http_stick_through_relinking(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(backend=Backend.FALKORDB, data_dir=data_dir, falkordb_url=None)
    pop = make_population(tmp_path / "pop", households=40, seed=3, error_rate=0.05)
    async with create_store(settings) as store:
        await store.bootstrap()
        await load_extracts(store, pop.extracts())
        await linkage_service(store, settings).link(full=True)
        token = await add_user(store, "e2e-steward", Role.DATA_STEWARD)
        original = await LinkageService(store, settings).assignments()
    by_person = original.groupby("person_id")["record_key"].apply(sorted).to_dict()
    pid_a, pid_b = sorted(by_person)[:2]

    async with served_api(data_dir, timeout=30) as (http, proc):
        queue = (await _post(http, token, QUEUE))["data"]["reviewQueue"]
        assert queue["totalCount"] >= 1
        item = queue["edges"][0]["node"]
        # two concurrent decisions on one candidate: one wins, one conflicts
        results = await asyncio.gather(
            _post(http, token, DECIDE, id=item["id"], d="LINK", v=item["version"]),
            _post(http, token, DECIDE, id=item["id"], d="NO_LINK", v=item["version"]),
        )
        wins = [r for r in results if r.get("data")]
        conflicts = [r for r in results if r.get("errors")]
        assert len(wins) == 1 and len(conflicts) == 1
        assert conflicts[0]["errors"][0]["extensions"]["code"] == "CONFLICT"
        assert wins[0]["data"]["decideMatch"]["candidateVersion"] == item["version"] + 1
        # merge two persons, then split them back
        merged = (await _post(http, token, MERGE, ids=[pid_b, pid_a]))["data"]["mergePersons"]
        assert merged["retired"] == [pid_b]
        split = (await _post(http, token, SPLIT, p=pid_a, k=by_person[pid_b]))["data"][
            "splitPerson"
        ]
        assert split["revived"] == [pid_b]
        assert merged["decisionId"] in split["supersedes"]
    assert proc.returncode in (0, -15)
    async with create_store(settings) as store:
        linkage = linkage_service(store, settings)
        await linkage.link(full=True)
        now = await linkage.assignments()
        assign = dict(zip(now["record_key"], now["person_id"], strict=True))
        assert {assign[k] for k in by_person[pid_a]} == {pid_a}
        assert {assign[k] for k in by_person[pid_b]} == {pid_b}
        decisions = await load_decisions(store)
        assert len(decisions) == 3 and all(d.audit_seq for d in decisions)
        result = await verify_chain(store)
        refused = await store.query(
            "audit_entries_page", after_seq=0, limit=10, user="e2e-steward", person_id=None
        )
        # the queue read, the three decisions, and the decision refused with CONFLICT
        assert result.ok and result.entries == 5
        assert [
            r["entry"]["action"].split(" count=")[0]
            for r in refused
            if r["entry"]["action"].startswith("refused:")
        ] == ["refused:CONFLICT mutation:decideMatch"]
