"""Token lifecycle (#17 item 4): tokens expire, can be revoked and rotated, and are listed
without their secrets.

The probe found that tokens lived for ever: no list, revoke, expiry or rotation. An
expired or revoked token now gets the same 401 as an unknown one. Users stored before
expiry existed expire the default lifetime after their creation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cpgraph.api import create_app
from cpgraph.config import Backend, Settings
from cpgraph.errors import ConfigError
from cpgraph.security import (
    Role,
    UnknownUserError,
    add_user,
    authenticate,
    hash_token,
    list_users,
    revoke_user,
    rotate_token,
)
from cpgraph.security.users import default_expiry_days, new_token
from cpgraph.store import GraphStore, create_store
from cpgraph.store.falkordb import FalkorDBStore
from tests.e2e.test_cli_db import cpgraph
from tests.queries import with_test_queries

SECURITY_CYPHER = Path(__file__).parent / "cypher"
ME = "{ me { name role } }"


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    """An empty store with its users, and an HTTP client on the API over it."""
    tmp = tmp_path_factory.mktemp("tokens")
    settings = Settings(backend=Backend.FALKORDB, data_dir=tmp / "data", falkordb_url=None)
    store: GraphStore = FalkorDBStore(
        settings, registry=with_test_queries("falkordb", SECURITY_CYPHER)
    )
    await store.start()
    try:
        await store.bootstrap()
        app = create_app(Settings(data_dir=Path("unused")), store=store)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield {"http": http, "store": store}
    finally:
        await store.close()


async def _me(world: dict[str, Any], token: str) -> httpx.Response:
    return await world["http"].post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
    )


def _assert_401(resp: httpx.Response) -> None:
    assert resp.status_code == 401, resp.text
    assert resp.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_new_token_expires_after_the_default_lifetime(world: dict[str, Any]) -> None:
    store = world["store"]
    token = await add_user(store, "fresh", Role.INVESTIGATOR)
    assert (await _me(world, token)).json()["data"]["me"]["name"] == "fresh"
    info = {u.name: u for u in await list_users(store)}["fresh"]
    assert info.expiry_stored and info.status() == "active"
    created = datetime.fromisoformat(str(info.created_at))
    assert datetime.fromisoformat(str(info.expires_at)) - created == timedelta(
        days=default_expiry_days()
    )
    later = created + timedelta(days=default_expiry_days(), seconds=1)
    assert await authenticate(store, token, now=later) is None


async def test_an_expired_token_gets_401_like_an_unknown_one(world: dict[str, Any]) -> None:
    store = world["store"]
    long_ago = datetime.now(UTC) - timedelta(days=31)
    token = await add_user(store, "lapsed", Role.INVESTIGATOR, expires_in_days=30, now=long_ago)
    assert await authenticate(store, token) is None
    _assert_401(await _me(world, token))
    _assert_401(await _me(world, new_token()))  # the same answer as a token nobody has
    assert {u.name: u for u in await list_users(store)}["lapsed"].status() == "expired"


async def test_a_revoked_token_gets_401(world: dict[str, Any]) -> None:
    store = world["store"]
    token = await add_user(store, "leaver", Role.DATA_STEWARD)
    assert (await _me(world, token)).status_code == 200
    first = await revoke_user(store, "leaver")
    _assert_401(await _me(world, token))
    assert await revoke_user(store, "leaver") == first  # the first revocation stays
    info = {u.name: u for u in await list_users(store)}["leaver"]
    assert info.revoked_at == first and info.status() == "revoked"
    with pytest.raises(UnknownUserError):
        await rotate_token(store, "leaver")  # rotating never revives a revoked user
    _assert_401(await _me(world, token))
    with pytest.raises(UnknownUserError):
        await revoke_user(store, "nobody-here")


async def test_rotation_replaces_the_token(world: dict[str, Any]) -> None:
    store = world["store"]
    old = await add_user(store, "rotor", Role.AUDITOR, expires_in_days=5)
    before = (await store.query("test_user_get", name="rotor"))[0]
    new = await rotate_token(store, "rotor", expires_in_days=30)
    assert new != old
    _assert_401(await _me(world, old))
    assert (await _me(world, new)).json()["data"]["me"] == {"name": "rotor", "role": "auditor"}
    after = (await store.query("test_user_get", name="rotor"))[0]
    assert after["token_hash"] == hash_token(new) != before["token_hash"]
    assert after["expires_at"] > before["expires_at"]


async def test_a_user_from_before_expiry_expires_from_its_creation(world: dict[str, Any]) -> None:
    store = world["store"]
    now = datetime.now(UTC)
    tokens = {}
    for name, age in (("legacy-recent", 10), ("legacy-old", default_expiry_days() + 10)):
        tokens[name] = new_token()
        await store.query(
            "test_user_legacy_create",
            name=name,
            role="investigator",
            token_hash=hash_token(tokens[name]),
            created_at=(now - timedelta(days=age)).isoformat(),
        )
    assert (await _me(world, tokens["legacy-recent"])).status_code == 200
    _assert_401(await _me(world, tokens["legacy-old"]))
    listed = {u.name: u for u in await list_users(store)}
    recent = listed["legacy-recent"]
    assert not recent.expiry_stored and recent.status() == "active"
    assert datetime.fromisoformat(str(recent.expires_at)) - datetime.fromisoformat(
        str(recent.created_at)
    ) == timedelta(days=default_expiry_days())
    assert listed["legacy-old"].status() == "expired"
    # rotating gives it a stored expiry and a working token
    token = await rotate_token(store, "legacy-old")
    assert (await _me(world, token)).status_code == 200
    assert {u.name: u for u in await list_users(store)}["legacy-old"].expiry_stored


@pytest.mark.parametrize("days", [0, -1, 3651])
async def test_a_lifetime_out_of_range_is_refused(world: dict[str, Any], days: int) -> None:
    with pytest.raises(ConfigError, match="1-3650 days"):
        await add_user(world["store"], f"bad-{abs(days)}", Role.INVESTIGATOR, expires_in_days=days)


def _token_of(stdout: str) -> str:
    return stdout.strip().splitlines()[-1]


async def test_the_cli_adds_lists_rotates_and_revokes(tmp_path: Path) -> None:
    data = tmp_path / "data"

    def run(*args: str) -> str:
        done = cpgraph("users", *args, cwd=tmp_path, env={"CPGRAPH_DATA_DIR": str(data)})
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    first = _token_of(run("add", "cli-ann", "--role", "data_steward", "--expires-in-days", "7"))
    listed = run("list")
    assert "cli-ann" in listed and "data_steward" in listed and "active" in listed
    assert first not in listed and hash_token(first) not in listed
    rotated = _token_of(run("rotate", "cli-ann"))
    assert rotated.startswith("cpg_") and rotated != first
    listed = run("list")
    assert rotated not in listed and hash_token(rotated) not in listed
    revoked = run("revoke", "cli-ann")
    assert "revoked" in revoked
    assert "revoked" in run("list")
    settings = Settings(backend=Backend.FALKORDB, data_dir=data, falkordb_url=None)
    async with create_store(settings) as store:
        assert await authenticate(store, first) is None
        assert await authenticate(store, rotated) is None
        actions = [
            r["entry"]["action"]
            for r in await store.query(
                "audit_entries_page", after_seq=0, limit=10, user=None, person_id=None
            )
        ]
    assert actions == [
        "users:add cli-ann role=data_steward",
        "users:rotate cli-ann",
        "users:revoke cli-ann",
    ]
    bad = cpgraph("users", "revoke", "nobody", cwd=tmp_path, env={"CPGRAPH_DATA_DIR": str(data)})
    assert bad.returncode == 1 and "no user with that name" in bad.stderr
