"""Refused requests are audited (#17): who, what and why — never the token or values.

Over the real app and a real embedded FalkorDB holding the API test household. Each
refusal is counted in memory by the app (`app.state.refusals`) and written to the
audit chain in aggregate by the server's flusher; here the tests flush explicitly
(and one test runs the app's lifespan to see the flusher write on its own and at
shutdown). The chain verifies with the refusals in it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cpgraph.api import create_app
from cpgraph.config import Backend, Settings
from cpgraph.graphql.limits import ApiLimits
from cpgraph.security import AuditLog, AuditRecord, Role, add_user, revoke_user, verify_chain
from cpgraph.security.refusals import ACTION_PREFIX, RefusalLog
from cpgraph.store import GraphStore
from cpgraph.store.falkordb import FalkorDBStore
from tests.factories import UNTHROTTLED
from tests.integration.api.api_helpers import CHILD, PURPOSE, api_registry, populate

# personal data a client might send as a variable: never in an audit entry
SECRET_NAME = "Zebedee Quuxley"
PERSON_Q = "query Profile($id: ID!) { person(id: $id) { displayName } }"


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    """The API test household, a user per role, an expired and a revoked user."""
    tmp = tmp_path_factory.mktemp("refusals")
    settings = Settings(backend=Backend.FALKORDB, data_dir=tmp / "data", falkordb_url=None)
    store: GraphStore = FalkorDBStore(settings, registry=api_registry())
    await store.start()
    try:
        await store.bootstrap()
        await populate(store)
        tokens = {role: await add_user(store, f"{role.value}-ref", role) for role in Role}
        long_ago = datetime.now(UTC) - timedelta(days=400)
        expired = await add_user(
            store, "lapsed-ref", Role.INVESTIGATOR, expires_in_days=30, now=long_ago
        )
        revoked = await add_user(store, "gone-ref", Role.INVESTIGATOR)
        await revoke_user(store, "gone-ref")
        yield {"store": store, "tokens": tokens, "expired": expired, "revoked": revoked}
    finally:
        await store.close()


def _app(world: dict[str, Any], limits: ApiLimits | None = None) -> FastAPI:
    return create_app(
        Settings(data_dir=Path("unused"), **UNTHROTTLED), store=world["store"], limits=limits
    )


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


async def _post(
    http: httpx.AsyncClient,
    query: str,
    *,
    token: str | None = None,
    purpose: str | None = PURPOSE,
    variables: dict[str, Any] | None = None,
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if purpose is not None:
        headers["X-Purpose"] = purpose
    body = json.dumps({"query": query, "variables": variables or {}})
    return await http.post("/graphql", content=body, headers=headers)


async def _flush(app: FastAPI) -> list[AuditRecord]:
    refusals: RefusalLog = app.state.refusals
    return await refusals.flush(app.state.audit)


def _refusal(entries: list[AuditRecord], code: str) -> AuditRecord:
    found = [e for e in entries if e.action.startswith(f"{ACTION_PREFIX}{code} ")]
    assert len(found) == 1, [e.action for e in entries]
    return found[0]


def _count(entry: AuditRecord) -> int:
    return int(entry.action.split(" count=")[1].split(" ")[0])


def _clean(entry: AuditRecord, *secrets: str) -> None:
    """Neither tokens nor the values a client sent appear anywhere in the entry."""
    text = json.dumps(entry.body())
    for secret in (SECRET_NAME, *secrets):
        assert secret not in text


def fingerprint(token: str) -> str:
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:12]


async def test_unauthenticated_requests_are_audited_without_the_token(
    world: dict[str, Any],
) -> None:
    """401 for no token, a bad token, an expired and a revoked one: who is anonymous,
    the token's fingerprint, or the expired token's user; the token never."""
    app = _app(world)
    bad = "cpg_" + "x" * 43
    async with _client(app) as http:
        assert (await _post(http, PERSON_Q, variables={"id": SECRET_NAME})).status_code == 401
        assert (await _post(http, PERSON_Q, token=bad)).status_code == 401
        assert (await _post(http, PERSON_Q, token=world["expired"])).status_code == 401
        assert (await _post(http, PERSON_Q, token=world["revoked"])).status_code == 401
    entries = await _flush(app)
    assert all(e.action.startswith("refused:UNAUTHENTICATED http:POST /graphql") for e in entries)
    who = {e.user: _count(e) for e in entries}
    assert who == {
        "anonymous": 1,
        fingerprint(bad): 1,
        "lapsed-ref": 1,
        fingerprint(world["revoked"]): 1,
    }
    for entry in entries:
        assert entry.role == "none" and not entry.persons and not entry.records
        _clean(entry, bad, world["expired"], world["revoked"])


async def test_forbidden_purpose_and_cost_refusals_say_who_what_and_why(
    world: dict[str, Any],
) -> None:
    tokens = world["tokens"]
    app = _app(world)
    costly = "query Costly { " + " ".join(
        f'n{i}: network(personId: "{CHILD}", depth: 3, first: 500) {{ truncated }}'
        for i in range(15)
    )
    async with _client(app) as http:
        resp = await _post(http, PERSON_Q, token=tokens[Role.AUDITOR], variables={"id": CHILD})
        assert resp.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        resp = await _post(
            http, PERSON_Q, token=tokens[Role.INVESTIGATOR], purpose=None, variables={"id": CHILD}
        )
        assert resp.json()["errors"][0]["extensions"]["code"] == "PURPOSE_REQUIRED"
        resp = await _post(http, costly + " }", token=tokens[Role.INVESTIGATOR])
        assert resp.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
        resp = await _post(
            http,
            'mutation { unlinkRecord(recordKey: "x", reason: "y") { kind } }',
            token=tokens[Role.ADMIN],
        )
        assert resp.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    entries = await _flush(app)
    forbidden = [e for e in entries if e.action.startswith("refused:FORBIDDEN ")]
    assert {(e.user, e.role, e.action.split(" count=")[0]) for e in forbidden} == {
        ("auditor-ref", "auditor", "refused:FORBIDDEN query:person op=Profile"),
        ("admin-ref", "admin", "refused:FORBIDDEN mutation:unlinkRecord"),
    }
    purpose = _refusal(entries, "PURPOSE_REQUIRED")
    assert (purpose.user, purpose.role) == ("investigator-ref", "investigator")
    assert purpose.action.startswith("refused:PURPOSE_REQUIRED query:person op=Profile count=1")
    costly_entry = _refusal(entries, "QUERY_TOO_COSTLY")
    assert costly_entry.action.startswith("refused:QUERY_TOO_COSTLY query:network op=Costly")
    for entry in entries:
        assert not entry.persons and not entry.records and entry.purpose is None
        _clean(entry, *tokens.values())


async def test_bad_input_too_large_and_rate_limited_are_audited(world: dict[str, Any]) -> None:
    token = world["tokens"][Role.INVESTIGATOR]
    app = _app(world, ApiLimits(rate_limit_per_s=0.001, rate_limit_burst=3))
    search = (
        "query Find($n: String!, $p: String) { searchPeople(name: $n, postcode: $p) "
        "{ totalCount } }"
    )
    async with _client(app) as http:
        # a resolver's BAD_USER_INPUT (a postcode too long), the values never recorded
        variables = {"n": SECRET_NAME, "p": SECRET_NAME}
        resp = await _post(http, search, token=token, variables=variables)
        assert resp.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        # a malformed body: 400 BAD_USER_INPUT before GraphQL runs
        resp = await http.post(
            "/graphql",
            content=b'{"query": "{ me { name } }", "variables": {"n": "' + b"\x00" + b'"',
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert resp.status_code == 400
        # 413: over the 1 MiB cap, refused unread
        resp = await http.post(
            "/graphql",
            content=b"{" + b" " * (1024 * 1024 + 10) + b"}",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert resp.status_code == 413
        # the burst of 3 is spent: the next two are 429
        assert (await _post(http, "{ me { name } }", token=token)).status_code == 429
        assert (await _post(http, "{ me { name } }", token=token)).status_code == 429
    entries = await _flush(app)
    bad = [e for e in entries if e.action.startswith("refused:BAD_USER_INPUT ")]
    assert {e.action.split(" count=")[0] for e in bad} == {
        "refused:BAD_USER_INPUT query:searchPeople op=Find",
        "refused:BAD_USER_INPUT http:POST /graphql",
    }
    assert {e.user for e in bad} == {"investigator-ref", fingerprint(token)}
    large = _refusal(entries, "PAYLOAD_TOO_LARGE")
    assert large.user == fingerprint(token) and _count(large) == 1
    limited = _refusal(entries, "RATE_LIMITED")
    assert limited.user == fingerprint(token) and _count(limited) == 2
    for entry in entries:
        _clean(entry, token)
    assert (await verify_chain(world["store"])).ok


async def test_a_flood_of_refusals_is_aggregated_and_capped(world: dict[str, Any]) -> None:
    """300 requests with 300 different bad tokens cost no store round trip each; they
    are written as at most `max_keys` + 1 entries whose counts add up to 300."""
    app = _app(world, ApiLimits(refusal_audit_max_keys=10, **_unthrottled()))
    async with _client(app) as http:
        for i in range(300):
            resp = await _post(http, PERSON_Q, token=f"not-a-token-{i}")
            assert resp.status_code == 401
    assert app.state.refusals.pending() == 300
    entries = await _flush(app)
    assert len(entries) <= 11
    assert sum(_count(e) for e in entries) == 300
    overflow = [e for e in entries if e.user == "*"]
    assert len(overflow) == 1 and _count(overflow[0]) == 290
    assert overflow[0].action.startswith("refused:UNAUTHENTICATED * count=290")
    assert app.state.refusals.pending() == 0
    result = await verify_chain(world["store"])
    assert result.ok, result.problems


def _unthrottled() -> dict[str, Any]:
    return {k.removeprefix("api_"): v for k, v in UNTHROTTLED.items()}


async def test_the_server_writes_refusals_on_its_own_and_at_shutdown(
    world: dict[str, Any],
) -> None:
    """With the app's lifespan running (as under uvicorn) the flusher writes refusals
    within its window; with a long window, what is left is written at shutdown."""
    store: GraphStore = world["store"]
    log = AuditLog(store)
    head = (await store.query("audit_head"))[0]["seq"]
    app = _app(world, ApiLimits(refusal_audit_window_s=0.2, **_unthrottled()))
    async with app.router.lifespan_context(app), _client(app) as http:
        assert (await _post(http, PERSON_Q, token="cpg_first")).status_code == 401
        for _ in range(100):  # polled: the flusher runs every 0.2 s
            if app.state.refusals.pending() == 0:
                break
            await asyncio.sleep(0.1)
        written = await log.page(after_seq=head, limit=10)
        assert [e.user for e in written] == [fingerprint("cpg_first")]

    app = _app(world, ApiLimits(refusal_audit_window_s=3600, **_unthrottled()))
    async with app.router.lifespan_context(app), _client(app) as http:
        assert (await _post(http, PERSON_Q, token="cpg_second")).status_code == 401
        assert app.state.refusals.pending() == 1
    after = await log.page(after_seq=head, limit=10)
    assert [e.user for e in after] == [fingerprint("cpg_first"), fingerprint("cpg_second")]
    assert app.state.refusals.pending() == 0
    assert (await verify_chain(store)).ok


async def test_errors_answered_outside_graphql_are_audited_once(world: dict[str, Any]) -> None:
    """What strawberry or the router refuse themselves (an unsupported content type, a
    GET, an unknown operation name, a method not allowed) is audited by its status;
    what was already counted (a 401) is not counted twice."""
    token = world["tokens"][Role.INVESTIGATOR]
    app = _app(world)
    auth = {"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE}
    async with _client(app) as http:
        text = await http.post(
            "/graphql", content=b"{}", headers={**auth, "Content-Type": "text/plain"}
        )
        assert text.status_code == 400
        get = await http.get("/graphql", params={"query": "{ me { name } }"}, headers=auth)
        assert get.status_code == 400
        unknown = await http.post(
            "/graphql",
            json={"query": "query A { me { name } }", "operationName": "B"},
            headers=auth,
        )
        assert unknown.status_code == 400
        put = await http.put("/graphql", json={"query": "{ me { name } }"}, headers=auth)
        assert put.status_code == 405
        assert (await _post(http, PERSON_Q, token="cpg_nobody")).status_code == 401
    entries = await _flush(app)
    actions = sorted((e.user, e.action.split(" first=")[0]) for e in entries)
    assert actions == sorted(
        [
            (fingerprint(token), "refused:BAD_REQUEST http:POST /graphql count=2"),
            (fingerprint(token), "refused:BAD_REQUEST http:GET /graphql count=1"),
            (fingerprint(token), "refused:METHOD_NOT_ALLOWED http:PUT /graphql count=1"),
            (fingerprint("cpg_nobody"), "refused:UNAUTHENTICATED http:POST /graphql count=1"),
        ]
    )
