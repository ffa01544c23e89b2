"""The Neo4j adapter over a stand-in driver: what it sends and how it maps results.

A real Neo4j runs only in the contract tests (when one is reachable); these
check the adapter's own logic everywhere: transaction routing, timeouts,
result conversion and error mapping.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from neo4j import Query
from neo4j import exceptions as neo4j_exc
from neo4j.graph import Graph, Node
from neo4j.time import Date, DateTime

from cpgraph.config import Backend, Settings
from cpgraph.errors import ConstraintViolationError, QueryError, StoreUnavailableError
from cpgraph.store.neo4j import AWAIT_INDEXES_TIMEOUT_S, Neo4jStore
from tests.queries import with_test_queries


class FakeDriver:
    """Records `execute_query` calls; answers with canned rows or raises."""

    def __init__(self, rows: list[dict[str, Any]] | None = None, error: Exception | None = None):
        self.rows = rows or []
        self.error = error
        self.calls: list[dict[str, Any]] = []

    async def execute_query(self, query: Query, params: dict[str, Any], **kwargs: Any) -> Any:
        self.calls.append({"query": query, "params": params, **kwargs})
        if self.error is not None:
            raise self.error
        counters = SimpleNamespace(
            nodes_created=1,
            nodes_deleted=2,
            relationships_created=3,
            relationships_deleted=4,
            properties_set=5,
        )
        keys = list(self.rows[0]) if self.rows else []
        return self.rows, SimpleNamespace(counters=counters), keys


def _store(driver: FakeDriver) -> Neo4jStore:
    settings = Settings(
        backend=Backend.NEO4J,
        neo4j_uri="neo4j://example.invalid:7687",
        neo4j_database="cpgraph",
        query_timeout_s=12.5,
    )
    store = Neo4jStore(settings, with_test_queries("neo4j"))
    store._driver = driver  # type: ignore[assignment]
    return store


async def test_read_and_write_files_route_to_read_and_write_transactions() -> None:
    driver = FakeDriver()
    store = _store(driver)
    await store.query("source_record_get", key="k")
    summary = await store.execute("person_create", person_id="P1", created_at="2026-01-01")
    read, write = driver.calls
    assert read["routing_"] == "r" and write["routing_"] == "w"
    assert read["database_"] == write["database_"] == "cpgraph"
    assert isinstance(read["query"], Query)
    assert read["query"].timeout == 12.5
    assert read["params"] == {"key": "k"}
    assert (summary.nodes_created, summary.properties_set) == (1, 5)
    assert store.round_trips == 2


async def test_nodes_and_temporal_values_come_back_plain() -> None:
    node = Node(Graph(), "4:db:1", 1, {"SourceRecord"}, {"key": "k", "seen": Date(2026, 1, 2)})
    at = DateTime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    driver = FakeDriver(rows=[{"record": node, "at": at, "many": [node], "n": 3}])
    rows = await _store(driver).query("source_record_get", key="k")
    assert rows == [
        {
            "record": {"key": "k", "seen": dt.date(2026, 1, 2)},
            "at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            "many": [{"key": "k", "seen": dt.date(2026, 1, 2)}],
            "n": 3,
        }
    ]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (neo4j_exc.ConstraintError("key = 'secret' already exists"), ConstraintViolationError),
        (neo4j_exc.ServiceUnavailable("no route"), StoreUnavailableError),
        (neo4j_exc.SessionExpired("gone"), StoreUnavailableError),
        (neo4j_exc.ClientError("syntax"), QueryError),
        (neo4j_exc.TransientError("deadlock"), QueryError),
        (ValueError("Values of type <class 'object'> are not supported"), QueryError),
        (TypeError("Map keys must be strings"), QueryError),
    ],
)
async def test_driver_errors_map_to_store_errors(error: Exception, expected: type) -> None:
    store = _store(FakeDriver(error=error))
    with pytest.raises(expected) as info:
        await store.query("person_create", person_id="P1", created_at="2026-01-01")
    assert "secret" not in str(info.value)


async def test_bootstrap_waits_for_indexes_longer_than_a_query_may_run() -> None:
    driver = FakeDriver(rows=[{"n": 3}])
    store = _store(driver)
    created = await store.bootstrap()
    assert created == []  # the index count never changed
    last = driver.calls[-1]
    assert "awaitIndexes" in last["query"].text
    assert last["query"].timeout == AWAIT_INDEXES_TIMEOUT_S > store.settings.query_timeout_s
    ddl = [c for c in driver.calls if "IF NOT EXISTS" in c["query"].text]
    assert ddl and all(c["routing_"] == "w" for c in ddl)
