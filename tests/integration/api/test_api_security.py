"""Authentication, roles, purpose, audit chain, limits and masking over HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from api_helpers import CHILD, MOTHER, PURPOSE, Tokens, api_registry, gql, make_client

from cpgraph.api import create_app
from cpgraph.config import Environment, Settings
from cpgraph.errors import QueryError
from cpgraph.graphql.limits import ApiLimits
from cpgraph.security import AuditLog, Role, add_user, authenticate, verify_chain
from cpgraph.security.errors import UserExistsError
from cpgraph.store import GraphStore, create_store
from cpgraph.store.falkordb import FalkorDBStore

pytestmark = pytest.mark.integration

PERSON_Q = 'query { person(id: "per-child") { id displayName } }'


# --- authentication -----------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer cpg_wrong", "Basic dXNlcjpwYXNz", "Bearer cpg_" + "A" * 43],
)
async def test_requests_without_a_valid_token_get_401(
    client: httpx.AsyncClient, header: str | None
) -> None:
    headers = {"X-Purpose": PURPOSE}
    if header:
        headers["Authorization"] = header
    resp = await client.post("/graphql", json={"query": "{ me { name } }"}, headers=headers)
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"
    assert resp.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" in resp.json() and resp.json()["data"] is None


async def test_tokens_are_stored_hashed_and_names_unique(api_store: GraphStore) -> None:
    token = await add_user(api_store, "hash-check", Role.INVESTIGATOR)
    assert token.startswith("cpg_") and len(token) == 47
    principal = await authenticate(api_store, token)
    assert principal is not None and principal.role == Role.INVESTIGATOR
    rows = await api_store.query("user_by_token_hash", token_hash=token)
    assert rows == []  # the raw token is not what is stored
    with pytest.raises(UserExistsError):
        await add_user(api_store, "hash-check", Role.AUDITOR)


async def test_me_works_for_every_role(client: httpx.AsyncClient, tokens: Tokens) -> None:
    for role in Role:
        resp = await gql(client, "{ me { name role } }", token=tokens.of(role), purpose=None)
        assert resp.status_code == 200, resp.text
        assert resp.json()["data"]["me"] == {"name": f"{role.value}-user", "role": role.value}


# --- roles (field-level, default deny) ------------------------------------------------


@pytest.mark.parametrize(
    ("role", "query", "denied"),
    [
        (Role.AUDITOR, PERSON_Q, "Query.person"),
        (Role.ADMIN, PERSON_Q, "Query.person"),
        (Role.INVESTIGATOR, "{ auditLog { totalCount } }", "Query.auditLog"),
        (
            Role.PARTNER_SYSTEM,
            'query { person(id: "per-child") { timeline { edges { node { date summary } } } } }',
            "TimelineEvent.summary",
        ),
        (
            Role.PARTNER_SYSTEM,
            'query { person(id: "per-child") { household { type } } }',
            "Person.household",
        ),
        (Role.PARTNER_SYSTEM, 'query { record(key: "health:patient:H1") { key } }', "Query.record"),
        # Fragments are checked too.
        (
            Role.PARTNER_SYSTEM,
            'query { person(id: "per-child") { ...F } } fragment F on Person { sourceRecords '
            "{ totalCount } }",
            "Person.sourceRecords",
        ),
    ],
)
async def test_roles_denied_fields_get_403(
    client: httpx.AsyncClient, tokens: Tokens, role: Role, query: str, denied: str
) -> None:
    resp = await gql(client, query, token=tokens.of(role))
    assert resp.status_code == 403, resp.text
    err = resp.json()["errors"][0]
    assert err["extensions"]["code"] == "FORBIDDEN"
    assert denied in err["message"]
    assert resp.json()["data"] is None


async def test_partner_system_reads_the_summary(client: httpx.AsyncClient, tokens: Tokens) -> None:
    query = """query { person(id: "per-child") { displayName agencies { agency }
      identifiers { scheme valid } timeline { edges { node { type date agency } } } } }"""
    resp = await gql(client, query, token=tokens.partner_system)
    assert resp.status_code == 200, resp.text
    person = resp.json()["data"]["person"]
    assert person["displayName"] == "Lily Smith"
    assert {a["agency"] for a in person["agencies"]} == {
        "health",
        "education",
        "childrens_social_care",
    }


# --- purpose ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "fragment"),
    [
        (None, "requires a purpose"),
        ("   ", "requires a purpose"),
        ("CP-2024-0193", "both a case reference and a reason"),
        ("; just looking", "both a case reference and a reason"),
        ("x; ok reason", "case reference must be"),
        ("CP-1; ab", "reason must be"),
    ],
)
async def test_person_data_needs_a_purpose(
    client: httpx.AsyncClient, tokens: Tokens, purpose: str | None, fragment: str
) -> None:
    resp = await gql(client, PERSON_Q, token=tokens.investigator, purpose=purpose)
    assert resp.status_code == 403
    err = resp.json()["errors"][0]
    assert err["extensions"]["code"] == "PURPOSE_REQUIRED"
    assert fragment in err["message"]
    assert "X-Purpose" in err["message"]


async def test_no_purpose_needed_without_person_data(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    resp = await gql(client, "{ me { role } }", token=tokens.investigator, purpose=None)
    assert resp.status_code == 200


# --- audit ------------------------------------------------------------------------


AUDIT_Q = """query A($after: String, $person: ID) {
  auditLog(first: 100, after: $after, personId: $person) {
    pageInfo { hasNextPage endCursor }
    edges { node { seq at user role action persons records fields purpose prevHash hash } }
  }
}"""


async def test_reads_are_audited_and_the_chain_verifies(
    client: httpx.AsyncClient, tokens: Tokens, api_store: GraphStore
) -> None:
    query = """query { person(id: "per-child") { displayName
      household(asOf: "2024-06-01") { person { id } } } }"""
    resp = await gql(client, query, token=tokens.investigator, purpose="CP-77; strategy meeting")
    assert resp.status_code == 200, resp.text
    audit = await gql(
        client, AUDIT_Q, token=tokens.auditor, purpose=None, variables={"person": CHILD}
    )
    assert audit.status_code == 200, audit.text
    entries = [e["node"] for e in audit.json()["data"]["auditLog"]["edges"]]
    mine = [e for e in entries if e["purpose"] == "CP-77; strategy meeting"]
    assert len(mine) == 1
    entry = mine[0]
    assert entry["user"] == "investigator-user" and entry["role"] == "investigator"
    assert entry["action"] == "query:person"
    assert set(entry["persons"]) >= {CHILD, MOTHER}
    assert "Person.household" in entry["fields"] and "Person.displayName" in entry["fields"]
    seqs = [e["seq"] for e in entries]
    assert seqs == sorted(seqs)
    result = await verify_chain(api_store)
    assert result.ok, result.problems
    assert result.entries >= len(entries)


async def test_audit_log_reads_are_themselves_audited(
    client: httpx.AsyncClient, tokens: Tokens, api_store: GraphStore
) -> None:
    before = (await verify_chain(api_store)).entries
    resp = await gql(client, AUDIT_Q, token=tokens.auditor, purpose=None)
    assert resp.status_code == 200
    after = await verify_chain(api_store)
    assert after.entries == before + 1


async def test_denied_requests_return_no_data_and_record_no_disclosure(
    client: httpx.AsyncClient, tokens: Tokens, api_store: GraphStore
) -> None:
    # A refusal discloses nothing, so it writes no disclosure entry of its own; refusals
    # are counted and written in aggregate by the server's flusher (lifespan, every few
    # seconds: tests/security/test_audit_refusals.py), which this in-process app does not run.
    before = (await verify_chain(api_store)).entries
    await gql(client, PERSON_Q, token=tokens.investigator, purpose=None)
    await gql(client, PERSON_Q, token=tokens.auditor)
    assert (await verify_chain(api_store)).entries == before


async def test_concurrent_appends_get_unique_gapless_seqs(api_store: GraphStore) -> None:
    # Two logs over one store stand for two processes: each has its own lock and
    # head cache, so they really race; the conditional append + constraint decide.
    logs = [AuditLog(api_store), AuditLog(api_store)]

    async def one(i: int) -> int:
        entry = await logs[i % 2].append(
            user="race", role="investigator", action="test", persons=[f"p{i}"], purpose="CP-1; x"
        )
        return entry.seq

    seqs = await asyncio.gather(*(one(i) for i in range(20)))
    assert len(set(seqs)) == 20
    assert sorted(seqs) == list(range(min(seqs), min(seqs) + 20))
    assert (await verify_chain(api_store)).ok


async def test_tampering_is_detected(tmp_path: Path) -> None:
    # A private store: tampering must not break the shared chain of other tests.
    store = FalkorDBStore(Settings(data_dir=tmp_path / "data"), registry=api_registry())
    await store.start()
    try:
        await store.bootstrap()
        log = AuditLog(store)
        for i in range(4):
            await log.append(
                user="u", role="investigator", action="q", persons=[f"p{i}"], purpose="CP-1; reason"
            )
        assert (await verify_chain(store)).ok
        await store.execute("test_audit_tamper", seq=2, purpose="CP-2; something else")
        result = await verify_chain(store)
        assert not result.ok
        assert result.first_bad_seq == 2
        assert any("altered" in p for p in result.problems)
    finally:
        await store.close()


# --- limits, masking, timeout ---------------------------------------------------------


async def test_depth_alias_and_token_limits(client: httpx.AsyncClient, tokens: Tokens) -> None:
    deep = 'query { person(id: "per-child") { ' + "relationships { edges { node { person { " * 4
    deep += "id" + " } } } }" * 4 + " } }"
    resp = await gql(client, deep, token=tokens.investigator)
    assert "exceeds maximum operation depth" in resp.json()["errors"][0]["message"]

    aliases = " ".join(f"a{i}: me {{ name }}" for i in range(20))
    resp = await gql(client, f"query {{ {aliases} }}", token=tokens.investigator)
    assert "aliases" in resp.json()["errors"][0]["message"].lower()

    many = "query { " + " ".join(["me { name role }"] * 600) + " }"
    resp = await gql(client, many, token=tokens.investigator)
    assert "token" in resp.json()["errors"][0]["message"].lower()
    assert resp.json().get("data") is None


async def test_internal_errors_are_masked(
    api_store: GraphStore, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = api_store.query

    async def failing(name: str, /, **params: object) -> object:
        if name == "api_persons_profile":
            raise QueryError(name, "value 'Lily Smith' broke something")
        return await original(name, **params)

    monkeypatch.setattr(api_store, "query", failing)
    app = create_app(Settings(data_dir=Path("unused")), store=api_store)
    async with make_client(app) as http:
        resp = await gql(http, PERSON_Q, token=tokens.investigator)
    err = resp.json()["errors"][0]
    assert err["message"].startswith("internal error (ref ")
    assert err["extensions"]["code"] == "INTERNAL"
    assert "Lily" not in resp.text and "Traceback" not in resp.text


async def test_slow_requests_time_out(
    api_store: GraphStore, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = api_store.query

    async def slow(name: str, /, **params: object) -> object:
        if name == "api_persons_profile":
            await asyncio.sleep(2)
        return await original(name, **params)

    monkeypatch.setattr(api_store, "query", slow)
    app = create_app(
        Settings(data_dir=Path("unused")), store=api_store, limits=ApiLimits(request_timeout_s=0.2)
    )
    async with make_client(app) as http:
        resp = await gql(http, PERSON_Q, token=tokens.investigator)
        assert resp.status_code == 504
        assert resp.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
        metrics = await http.get("/metrics")
    assert "cpgraph_request_timeouts_total 1.0" in metrics.text


# --- the other endpoints -------------------------------------------------------------


async def test_health_ready_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "cpgraph_http_requests_total" in metrics.text


async def test_readyz_fails_when_the_store_is_down() -> None:
    store = create_store(Settings(data_dir=Path("never-started")))  # not started
    app = create_app(Settings(data_dir=Path("unused")), store=store)
    async with make_client(app) as http:
        assert (await http.get("/readyz")).status_code == 503


@pytest.mark.parametrize(("env", "ide"), [(Environment.DEV, True), (Environment.PROD, False)])
async def test_graphiql_only_in_dev(api_store: GraphStore, env: Environment, ide: bool) -> None:
    app = create_app(Settings(data_dir=Path("unused"), env=env), store=api_store)
    async with make_client(app) as http:
        resp = await http.get("/graphql", headers={"Accept": "text/html"})
    assert (resp.status_code == 200 and "graphiql" in resp.text.lower()) is ide
    if not ide:
        assert resp.status_code in (401, 404, 405)
