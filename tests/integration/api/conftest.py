"""Fixtures for API tests (see api_helpers for the graph they write)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from api_helpers import Tokens, api_registry, populate

from cpgraph.api import create_app
from cpgraph.config import Backend, Settings
from cpgraph.security import Role, add_user
from cpgraph.store import GraphStore
from cpgraph.store.falkordb import FalkorDBStore
from tests.factories import UNTHROTTLED


@pytest.fixture(scope="module")
async def api_store(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GraphStore]:
    """A started embedded FalkorDB holding the household graph (shared by a module)."""
    tmp = tmp_path_factory.mktemp("api")
    settings = Settings(backend=Backend.FALKORDB, data_dir=tmp / "data", falkordb_url=None)
    store = FalkorDBStore(settings, registry=api_registry())
    await store.start()
    try:
        await store.bootstrap()
        await populate(store)
        yield store
    finally:
        await store.close()


@pytest.fixture(scope="module")
async def tokens(api_store: GraphStore) -> Tokens:
    """One user per role."""
    made = {role.value: await add_user(api_store, f"{role.value}-user", role) for role in Role}
    return Tokens(**made)


@pytest.fixture(scope="module")
async def client(api_store: GraphStore, tokens: Tokens) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app (prod settings) over the shared store."""
    # the module's tests share one token per role, far past the default rate limit
    app = create_app(Settings(data_dir=Path("unused"), **UNTHROTTLED), store=api_store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield http
