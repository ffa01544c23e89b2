"""Schema set-up survives a connection lost mid-way (the server restarted by its
supervisor, or a reset under load): the idempotent DDL runs again once the store answers."""

from __future__ import annotations

import pytest

from cpgraph.config import Settings
from cpgraph.errors import StoreUnavailableError
from cpgraph.store import create_store

pytestmark = pytest.mark.integration


async def test_bootstrap_retries_after_a_lost_connection(
    falkordb_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = create_store(falkordb_settings)
    await store.start()
    try:
        real = store.query
        lost = {"n": 0}

        async def flaky(name: str, **params):
            if name == "constraints_list" and lost["n"] == 0:
                lost["n"] += 1
                # the server really goes away and comes back, as after a crash
                store.embedded._proc.kill()  # type: ignore[union-attr]  # noqa: SLF001
                raise StoreUnavailableError("query 'constraints_list': connection lost")
            return await real(name, **params)

        monkeypatch.setattr(store, "query", flaky)
        await store.bootstrap()
        assert lost["n"] == 1
        monkeypatch.setattr(store, "query", real)
        rows = await store.query("constraints_list")
        assert rows and all(r["status"] == "OPERATIONAL" for r in rows)
    finally:
        await store.close()
