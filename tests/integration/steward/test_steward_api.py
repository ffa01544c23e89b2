"""The steward GraphQL API over a real linked graph (ASGI, embedded FalkorDB)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from steward_helpers import Linked

from cpgraph.api import create_app
from cpgraph.config import Settings
from cpgraph.linkage.reasons import KEPT_APART_REASONS
from cpgraph.security import Role, add_user, verify_chain
from cpgraph.security.audit import AuditLog

PURPOSE = "DQ-2024-07; weekly match review"
QUEUE = """
query Q($first: Int!, $after: String) {
  reviewQueue(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id version probability consequence
      recordA { key forename surname dateOfBirth }
      recordB { key forename surname dateOfBirth }
      personA { id recordKeys agencies isChild policeHistory }
      personB { id recordKeys }
      weights { prior final probability steps { label level contribution cumulative } }
      impact { survivingPersonId retiredPersonId recordsMoved reasons summary }
    } }
  }
}
"""
DECIDE = """
mutation D($id: ID!, $d: MatchDecision!, $v: Int) {
  decideMatch(candidateId: $id, decision: $d, reason: "same child, typo in name",
              expectedVersion: $v) {
    decisionId kind decision user auditSeq candidateVersion retired
    after { personId recordKeys }
  }
}
"""


async def _post(
    http: httpx.AsyncClient, query: str, token: str, purpose: str | None = PURPOSE, **variables: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if purpose:
        headers["X-Purpose"] = purpose
    return await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


async def test_review_queue_decide_and_conflict_over_graphql(linked: Linked) -> None:
    tokens = {r: await add_user(linked.store, f"{r.value}-u", r) for r in Role}
    app = create_app(Settings(data_dir=Path("unused")), store=linked.store)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        r = await _post(http, QUEUE, tokens[Role.DATA_STEWARD], first=1)
        assert r.status_code == 200, r.text
        queue = r.json()["data"]["reviewQueue"]
        assert queue["totalCount"] >= 2 and queue["pageInfo"]["hasNextPage"]
        node = queue["edges"][0]["node"]
        steps = node["weights"]["steps"]
        assert steps[0]["label"] == "prior"
        assert abs(steps[-1]["cumulative"] - node["weights"]["final"]) < 0.02
        assert node["recordA"]["key"] in node["personA"]["recordKeys"]
        assert node["impact"]["recordsMoved"] >= 1
        # the next page continues after the first, without repeats
        r2 = await _post(
            http, QUEUE, tokens[Role.DATA_STEWARD], first=5, after=queue["pageInfo"]["endCursor"]
        )
        ids = [e["node"]["id"] for e in r2.json()["data"]["reviewQueue"]["edges"]]
        assert node["id"] not in ids and len(ids) == min(5, queue["totalCount"] - 1)
        # reading the queue is audited like any person data, and needs a purpose
        entries = await AuditLog(linked.store).page(after_seq=0, limit=10)
        assert entries[0].action == "query:reviewQueue" and entries[0].purpose == PURPOSE
        assert node["personA"]["id"] in entries[0].persons
        r = await _post(http, QUEUE, tokens[Role.DATA_STEWARD], purpose=None, first=1)
        assert r.json()["errors"][0]["extensions"]["code"] == "PURPOSE_REQUIRED"
        # other roles may not see the queue, nor decide
        for role in (Role.INVESTIGATOR, Role.PARTNER_SYSTEM, Role.AUDITOR, Role.ADMIN):
            r = await _post(http, QUEUE, tokens[role], first=1)
            assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == (
                "FORBIDDEN"
            )
        r = await _post(http, DECIDE, tokens[Role.INVESTIGATOR], id=node["id"], d="LINK")
        assert r.status_code == 403
        denied = r.json()["errors"][0]
        assert denied["extensions"]["code"] == "FORBIDDEN"
        assert denied["message"].startswith("role investigator may not read")
        # the steward decides; the same decision at the old version is a conflict
        r = await _post(http, DECIDE, tokens[Role.DATA_STEWARD], id=node["id"], d="LINK", v=0)
        out = r.json()["data"]["decideMatch"]
        assert out["decision"] == "LINK" and out["candidateVersion"] == 1
        assert out["user"] == "data_steward-u" and out["auditSeq"] > 1
        assert out["retired"] == [node["impact"]["retiredPersonId"]]
        r = await _post(http, DECIDE, tokens[Role.DATA_STEWARD], id=node["id"], d="NO_LINK", v=0)
        err = r.json()["errors"][0]
        assert err["extensions"]["code"] == "CONFLICT" and "version" in err["message"]
        assert r.json()["data"] is None
        # admins may not decide (least privilege); the steward reverses with the version
        r = await _post(http, DECIDE, tokens[Role.ADMIN], id=node["id"], d="NO_LINK", v=1)
        assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == ("FORBIDDEN")
        r = await _post(http, DECIDE, tokens[Role.DATA_STEWARD], id=node["id"], d="NO_LINK", v=1)
        assert r.json()["data"]["decideMatch"]["candidateVersion"] == 2
    assert (await verify_chain(linked.store)).ok


FILTERED = """
query Q($first: Int!, $after: String, $reason: String, $system: String, $minP: Float!,
        $flagged: Boolean) {
  reviewQueue(first: $first, after: $after, reason: $reason, system: $system,
              minProbability: $minP, flaggedChild: $flagged) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id reason stale flaggedChild probability recordA { key } recordB { key } } }
  }
}
"""


async def test_review_queue_filters_and_cursors_over_graphql(linked: Linked) -> None:
    token = await add_user(linked.store, "filter-steward", Role.DATA_STEWARD)
    app = create_app(Settings(data_dir=Path("unused")), store=linked.store)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:

        async def queue(**variables: Any) -> dict[str, Any]:
            r = await _post(http, FILTERED, token, **{"minP": 0.0, **variables})
            assert r.status_code == 200, r.text
            return r.json()["data"]["reviewQueue"]

        everything = await queue(first=100)
        nodes = [e["node"] for e in everything["edges"]]
        assert everything["totalCount"] == len(nodes) >= 2
        assert not any(n["stale"] for n in nodes)
        reason = nodes[0]["reason"]
        by_reason = await queue(first=100, reason=reason)
        assert [n["node"]["id"] for n in by_reason["edges"]] == [
            n["id"] for n in nodes if n["reason"] == reason
        ]
        system = nodes[-1]["recordB"]["key"].split(":")[0]
        by_system = await queue(first=100, system=system)
        assert by_system["totalCount"] == sum(
            system in (n["recordA"]["key"].split(":")[0], n["recordB"]["key"].split(":")[0])
            for n in nodes
        )
        high = await queue(first=100, minP=0.9)
        assert all(e["node"]["probability"] >= 0.9 for e in high["edges"])
        # a cursor continues the filtered list where it stopped
        first = await queue(first=1, reason=reason)
        rest = await queue(first=100, reason=reason, after=first["pageInfo"]["endCursor"])
        assert [e["node"]["id"] for e in first["edges"] + rest["edges"]] == [
            e["node"]["id"] for e in by_reason["edges"]
        ]
        # bad input is refused precisely
        for bad in ({"minP": 1.5}, {"after": "bm9wZQ=="}, {"reason": "x" * 65}):
            r = await _post(http, FILTERED, token, **{"first": 5, "minP": 0.0, **bad})
            assert r.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


REASONS = "query { keptApartReasons { code description } }"


async def test_the_reasons_catalogue_is_served_and_the_filter_takes_only_its_codes(
    linked: Linked,
) -> None:
    steward = await add_user(linked.store, "reasons-steward", Role.DATA_STEWARD)
    investigator = await add_user(linked.store, "reasons-investigator", Role.INVESTIGATOR)
    partner = await add_user(linked.store, "reasons-partner", Role.PARTNER_SYSTEM)
    app = create_app(Settings(data_dir=Path("unused")), store=linked.store)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        r = await _post(http, REASONS, steward)
        served = r.json()["data"]["keptApartReasons"]
        assert [x["code"] for x in served] == list(KEPT_APART_REASONS)
        assert all(x["description"] for x in served)
        r = await _post(http, REASONS, investigator)  # the codes on a possible match
        assert r.json()["data"]["keptApartReasons"] == served
        r = await _post(http, REASONS, partner)
        assert r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        # every reason the queue holds is in the catalogue, and filters by it
        r = await _post(http, FILTERED, steward, first=100, minP=0.0)
        held = {e["node"]["reason"] for e in r.json()["data"]["reviewQueue"]["edges"]}
        assert held and held <= set(KEPT_APART_REASONS)
        # a code the catalogue lacks matched nothing before: now it is refused, unechoed
        r = await _post(http, FILTERED, steward, first=5, minP=0.0, reason="diferent_addresses")
        err = r.json()["errors"][0]
        assert err["extensions"]["code"] == "BAD_USER_INPUT"
        assert "keptApartReasons" in err["message"] and "diferent" not in err["message"]
