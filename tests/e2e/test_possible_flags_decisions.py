"""POSSIBLE flags follow a steward's decision at once (over the GraphQL API).

A spec without the v8 alias rule keeps the new partner's aliased history apart
(the place gate): the child's flag is POSSIBLE. A steward's NO_LINK on the pair
withdraws it; a LINK on another household's pair confirms it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from cpgraph.api import create_app
from cpgraph.config import Backend, Settings
from cpgraph.flags import compute_flags
from cpgraph.ingest.engine import load_extracts
from cpgraph.linkage.spec import DEFAULT_SPEC_PATH, loads_spec
from cpgraph.security import Role, add_user
from cpgraph.steward.linking import linkage_service
from cpgraph.store import create_store
from tests.factories import UNTHROTTLED, make_population

pytestmark = pytest.mark.e2e

PURPOSE = "CP-2026-0003; possible match check"
FLAGS = """
query($k: String!) {
  record(key: $k) {
    person { id flags { code confidence evidence { path { kind to { id } } } } }
  }
}
"""
POSSIBLE = """
query($id: ID!) { person(id: $id) { possibleMatches { person { id } candidateIds evidence } } }
"""
DECIDE = """
mutation($c: ID!, $d: MatchDecision!) {
  decideMatch(candidateId: $c, decision: $d, reason: "checked against the PNC") { __typename }
}
"""


@dataclass
class Api:
    http: httpx.AsyncClient
    tokens: dict[Role, str]

    async def data(self, query: str, role: Role = Role.INVESTIGATOR, **variables: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}", "X-Purpose": PURPOSE}
        resp = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Api, list]]:
    root = tmp_path_factory.mktemp("possible")
    pop = make_population(root / "pop", households=90, seed=3, profile="alias_heavy")
    settings = Settings(backend=Backend.FALKORDB, data_dir=root / "data", falkordb_url=None)
    text = DEFAULT_SPEC_PATH.read_text()
    assert "alias_corroborates = true" in text
    spec = loads_spec(text.replace("alias_corroborates = true", "alias_corroborates = false"))
    store = create_store(settings)
    await store.start()
    try:
        await store.bootstrap()
        await load_extracts(store, pop.extracts())
        await linkage_service(store, settings, spec=spec).link()
        await compute_flags(store)
        tokens = {r: await add_user(store, f"{r.value}-pm", r) for r in Role}
        # the module's tests share one token per role, far past the default rate limit
        app = create_app(Settings(data_dir=root / "unused", **UNTHROTTLED), store=store)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api"
        ) as http:
            yield Api(http, tokens), pop.scenarios()
    finally:
        await store.close()


async def _possible(api: Api, child_key: str) -> list[tuple[str, str]]:
    """(partner, history person) of each POSSIBLE domestic-abuse flag of the child."""
    person = (await api.data(FLAGS, k=child_key))["record"]["person"]
    out = []
    for f in person["flags"]:
        if f["code"] == "HOUSEHOLD_ADULT_DOMESTIC_ABUSE" and f["confidence"] == "POSSIBLE":
            hops = f["evidence"]["path"]
            assert hops[-1]["kind"] == "POSSIBLE_MATCH"
            out.append((hops[-2]["to"]["id"], hops[-1]["to"]["id"]))
    return out


async def test_steward_decisions_confirm_or_withdraw_possible_flags(world) -> None:
    api, scenarios = world
    children = [
        s["child_record_keys"][0]
        for s in scenarios
        if s["scenario"] == "new_partner" and "alias variant" in s["notes"]
    ]
    found = [(c, p) for c in children for p in await _possible(api, c)]
    assert len(found) >= 2, "need two POSSIBLE flags to decide one each way"
    decisions = (("NO_LINK", None), ("LINK", "CONFIRMED"))
    for (child, (partner, history)), (decision, after) in zip(found, decisions, strict=False):
        matches = (await api.data(POSSIBLE, id=partner))["person"]["possibleMatches"]
        (match,) = [m for m in matches if m["person"]["id"] == history]
        assert "alias" in match["evidence"]
        for cid in match["candidateIds"]:
            await api.data(DECIDE, Role.DATA_STEWARD, c=cid, d=decision)
        person = (await api.data(FLAGS, k=child))["record"]["person"]
        da = [f for f in person["flags"] if f["code"] == "HOUSEHOLD_ADULT_DOMESTIC_ABUSE"]
        assert (partner, history) not in await _possible(api, child)
        if after == "CONFIRMED":
            assert any(f["confidence"] == "CONFIRMED" for f in da), decision
