"""Cost limits (#17 item 8): query cost budget, per-token rate limit, body cap, bad bodies.

Over the real app and a real embedded FalkorDB holding the API test household.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from graphql import parse

from cpgraph.api import create_app
from cpgraph.config import Backend, Settings
from cpgraph.graphql.limits import ApiLimits, query_cost
from cpgraph.graphql.schema import build_schema
from cpgraph.security import Role, add_user
from cpgraph.store import GraphStore
from cpgraph.store.falkordb import FalkorDBStore
from tests.integration.api.api_helpers import CHILD, PURPOSE, api_registry, gql, populate

ROOT = Path(__file__).resolve().parents[2]
ME = "query { me { name } }"


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, object]]:
    """The API test household in a real embedded FalkorDB, with two investigators."""
    tmp = tmp_path_factory.mktemp("cost")
    settings = Settings(backend=Backend.FALKORDB, data_dir=tmp / "data", falkordb_url=None)
    store: GraphStore = FalkorDBStore(settings, registry=api_registry())
    await store.start()
    try:
        await store.bootstrap()
        await populate(store)
        tokens = [await add_user(store, f"cost-{i}", Role.INVESTIGATOR) for i in range(2)]
        yield {"store": store, "tokens": tokens}
    finally:
        await store.close()


def _client(world: dict[str, object], limits: ApiLimits | None = None) -> httpx.AsyncClient:
    store = world["store"]
    assert isinstance(store, GraphStore)
    app = create_app(Settings(data_dir=Path("unused")), store=store, limits=limits)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


def _token(world: dict[str, object], i: int = 0) -> str:
    tokens = world["tokens"]
    assert isinstance(tokens, list)
    return str(tokens[i])


def _headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "X-Purpose": PURPOSE,
        "Content-Type": "application/json",
    }


def _no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert record.exc_info is None, record.getMessage()
        assert record.levelno < logging.ERROR, record.getMessage()
        assert "Traceback" not in record.getMessage()


# --- 1. the query cost budget ------------------------------------------------------

ALIASED_NETWORKS = (
    "query { "
    + " ".join(
        f'n{i}: network(personId: "{CHILD}", depth: 3, first: 500) {{ truncated }}'
        for i in range(15)
    )
    + " }"
)


async def test_an_over_budget_query_is_refused_unrun_with_its_cost(
    world: dict[str, object],
) -> None:
    """The probe's 15 aliased `network(depth: 3, first: 500)` is refused before it runs,
    saying its cost and the limit; one such network alone still runs."""
    expected = query_cost(build_schema()._schema, parse(ALIASED_NETWORKS))  # noqa: SLF001
    limit = ApiLimits().max_query_cost
    assert expected > limit
    async with _client(world) as http:
        resp = await gql(http, ALIASED_NETWORKS, token=_token(world))
        body = resp.json()
        assert body["data"] is None
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
        assert error["extensions"]["cost"] == expected
        assert error["extensions"]["limit"] == limit
        assert f"query cost {expected} is over the limit of {limit}" in error["message"]

        one = f'query {{ network(personId: "{CHILD}", depth: 3, first: 500) {{ truncated }} }}'
        resp = await gql(http, one, token=_token(world))
        assert "errors" not in resp.json(), resp.json()
        assert resp.json()["data"]["network"]["truncated"] is False


async def test_variables_count_in_the_cost(world: dict[str, object]) -> None:
    """Page sizes given as variables are priced as given, not as their defaults."""
    query = (
        "query($n: Int!) { "
        + " ".join(
            f'n{i}: network(personId: "{CHILD}", depth: 3, first: $n) {{ truncated }}'
            for i in range(15)
        )
        + " }"
    )
    async with _client(world) as http:
        small = await gql(http, query, token=_token(world), variables={"n": 10})
        assert "errors" not in small.json(), small.json()
        big = await gql(http, query, token=_token(world), variables={"n": 500})
        assert big.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


def _web_queries() -> dict[str, str]:
    """Every operation of the web app (web/src/queries.js), its constants filled in."""
    text = (ROOT / "web/src/queries.js").read_text()
    consts = dict(re.findall(r'const (\w+) = [`"](.*?)[`"];', text, flags=re.S))
    queries = dict(re.findall(r"export const (\w+) = `(.*?)`;", text, flags=re.S))
    return {
        name: re.sub(r"\$\{(\w+)\}", lambda m: consts[m.group(1)], q) for name, q in queries.items()
    }


def test_the_web_app_queries_stay_well_under_the_budget() -> None:
    """At the page sizes the web app sends (network: depth 2 of 150 nodes, review 20,
    audit 100), each operation costs under a quarter of the default budget."""
    schema = build_schema()._schema  # noqa: SLF001
    variables = {"first": 150, "depth": 2, "maxDepth": 6}
    queries = _web_queries()
    assert {"NETWORK", "PROFILE_CASEWORK", "REVIEW_QUEUE", "AUDIT_LOG"} <= set(queries)
    for name, query in queries.items():
        cost = query_cost(schema, parse(query), variables=variables)
        assert 0 < cost < ApiLimits().max_query_cost / 4, (name, cost)


# --- 2. the per-token rate limit -------------------------------------------------


async def test_a_token_over_its_rate_gets_429_others_and_probes_do_not(
    world: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    """Past its burst a token is answered 429 with Retry-After and RATE_LIMITED; another
    token and /healthz are unaffected. (A refill of one request per 1000 s: no timing.)"""
    limits = ApiLimits(rate_limit_per_s=0.001, rate_limit_burst=3)
    async with _client(world, limits) as http:
        for _ in range(3):
            resp = await gql(http, ME, token=_token(world, 0))
            assert resp.status_code == 200, resp.text
        resp = await gql(http, ME, token=_token(world, 0))
        assert resp.status_code == 429
        assert int(resp.headers["retry-after"]) >= 1
        assert resp.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert resp.json()["data"] is None
        other = await gql(http, ME, token=_token(world, 1))
        assert other.status_code == 200
        assert other.json()["data"]["me"]["name"] == "cost-1"
        for _ in range(10):
            assert (await http.get("/healthz")).status_code == 200
        metrics = (await http.get("/metrics")).text
        assert 'route="/graphql",status="429"' in metrics
    assert _token(world, 0) not in caplog.text


def test_the_rate_limit_defaults_and_can_be_raised_through_settings() -> None:
    """20 requests a second with bursts of 40 by default; settings raise it (tests, benches)."""
    default = ApiLimits.from_settings(Settings(data_dir=Path("unused")))
    assert (default.rate_limit_per_s, default.rate_limit_burst) == (20.0, 40)
    raised = ApiLimits.from_settings(
        Settings(data_dir=Path("unused"), api_rate_limit_per_s=1000, api_rate_limit_burst=5000)
    )
    assert (raised.rate_limit_per_s, raised.rate_limit_burst) == (1000.0, 5000)


# --- 3. the body cap ---------------------------------------------------------------


async def test_a_2_mib_body_gets_413(
    world: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    """Over the 1 MiB default: 413 with a GraphQL error body, with or without a length."""
    padding = "#" + "x" * (2 * 1024 * 1024) + "\n"
    body = json.dumps({"query": padding + ME}).encode()
    async with _client(world) as http:
        resp = await http.post("/graphql", content=body, headers=_headers(_token(world)))
        assert resp.status_code == 413
        assert resp.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

        async def chunks() -> AsyncIterator[bytes]:  # no content-length: read to the cap
            for start in range(0, len(body), 64 * 1024):
                yield body[start : start + 64 * 1024]

        resp = await http.post("/graphql", content=chunks(), headers=_headers(_token(world)))
        assert resp.status_code == 413
        assert resp.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
        # just under the cap is a request like any other
        fine = json.dumps({"query": "#" + "x" * 1000 + "\n" + ME}).encode()
        resp = await http.post("/graphql", content=fine, headers=_headers(_token(world)))
        assert resp.status_code == 200
        assert resp.json()["data"]["me"]["name"] == "cost-0"
    _no_traceback(caplog)


# --- 4. malformed bodies and bad strings -------------------------------------------

BAD_BODIES = {
    "malformed JSON": b'{"query": "query { me { name } }"',
    "not UTF-8": b'{"query": "query { me { name \xff } }"}',
    "an array": b'[{"query": "query { me { name } }"}]',
    "a string": b'"query { me { name } }"',
    "no query": b'{"variables": {}}',
    "query not a string": b'{"query": 5}',
    "variables not an object": b'{"query": "query { me { name } }", "variables": [1]}',
    "operationName not a string": b'{"query": "query { me { name } }", "operationName": 1}',
    "NUL in the query": b'{"query": "query { me { name } } # \\u0000"}',
    "lone surrogate in the query": b'{"query": "query { me { name } } # \\ud800"}',
    "NUL in a variable": (
        b'{"query": "query($n: String!) { searchPeople(name: $n) { totalCount } }",'
        b' "variables": {"n": "Ann\\u0000"}}'
    ),
    "lone surrogate in a nested variable": (
        b'{"query": "query($t: [String!]) { network(personId: \\"per-child\\",'
        b' relationshipTypes: $t) { truncated } }", "variables": {"t": ["a", "\\udc00"]}}'
    ),
    "deeply nested JSON": b'{"query": "q", "variables": {"a": '
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}}",
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
async def test_a_bad_body_is_bad_user_input_never_a_500_nor_a_traceback(
    world: dict[str, object], caplog: pytest.LogCaptureFixture, name: str
) -> None:
    """Each malformed body or bad string: 400, BAD_USER_INPUT in a GraphQL error body."""
    caplog.set_level(logging.DEBUG)
    async with _client(world) as http:
        resp = await http.post(
            "/graphql", content=BAD_BODIES[name], headers=_headers(_token(world))
        )
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    _no_traceback(caplog)


async def test_paired_surrogates_and_unicode_still_pass(world: dict[str, object]) -> None:
    """An emoji (a surrogate pair in JSON) and accented names are fine."""
    body = json.dumps(
        {
            "query": "query($n: String!) { searchPeople(name: $n) { totalCount } } # 😀",
            "variables": {"n": "Zoë 😀"},
        }
    ).encode()
    async with _client(world) as http:
        resp = await http.post("/graphql", content=body, headers=_headers(_token(world)))
    assert resp.status_code == 200, resp.text
    assert "errors" not in resp.json(), resp.json()
