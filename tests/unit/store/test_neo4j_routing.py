"""Read routing on a Neo4j cluster: reads go to any member, writes to the leader.

The Neo4j adapter opens every transaction with the access mode of its query file
(`// mode: write`, else read): through a `neo4j://` URI the driver sends read
transactions to followers and read replicas and write transactions to the leader.
So a file's mode must say what the statement does: a write marked read fails on a
follower (and FalkorDB's `GRAPH.RO_QUERY` refuses it too), a read marked write loads
the leader needlessly. Checked here for every file, and for what the API runs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from cpgraph.config import Backend, Settings
from cpgraph.store.neo4j import Neo4jStore
from cpgraph.store.registry import DIALECTS, QueryRegistry, strip_literals
from tests.queries import with_test_queries
from tests.unit.store.test_neo4j_adapter import FakeDriver

REPO = Path(__file__).resolve().parents[3]
# The modules that serve API requests (GraphQL resolvers, auth, audit, steward actions).
API_SOURCES = (
    REPO / "src" / "cpgraph" / "api.py",
    *(REPO / "src" / "cpgraph" / "graphql").glob("*.py"),
    *(REPO / "src" / "cpgraph" / "security").glob("*.py"),
    *(REPO / "src" / "cpgraph" / "steward").glob("*.py"),
)
# Clauses and procedures that change the graph or its schema.
_WRITES = re.compile(
    r"\b(?:CREATE|MERGE|SET|DELETE|REMOVE|DROP)\b|\bdb\.create\.|\bdb\.idx\.\w+\.(?:create|drop)",
    re.IGNORECASE,
)
# Reads that must still run on the leader, and why.
LEADER_READS = {
    # waits until the indexes the DDL just created are online where they were created
    "admin_await_indexes": "index build happens on the leader first",
}
# What an investigator's screens cost: these must be answered by any member.
API_READS = (
    "api_persons_profile",
    "api_persons_relationships",
    "api_persons_events",
    "api_persons_flags",
    "api_network_paths",
    "api_records_by_key",
    "search_person_candidates",
    "user_by_token_hash",
    "audit_entries_page",
)
API_WRITES = ("audit_append", "steward_decision_create", "steward_candidate_claim")


def _writes(text: str) -> bool:
    # `db.idx.fulltext.queryNodes` (FalkorDB) reads; strings and comments never count
    return bool(_WRITES.search(strip_literals(text)))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_file_mode_says_what_the_statement_does(dialect: str) -> None:
    registry = with_test_queries(dialect)
    wrong = []
    for name in registry.names():
        query = registry.get(name)
        expected = "write" if _writes(query.text) or name in LEADER_READS else "read"
        if query.mode != expected:
            wrong.append(f"{name}: marked {query.mode}, does {expected}")
    assert not wrong, "\n".join(wrong)


def test_the_write_detector_tells_reads_from_writes() -> None:
    assert _writes("MATCH (p:Person) SET p.x = 1")
    assert _writes("UNWIND $rows AS r MERGE (s:SourceRecord {key: r.key})")
    assert _writes("MATCH (n) DETACH DELETE n")
    assert not _writes("MATCH (p:Person {person_id: $id}) RETURN p // SET in a comment")
    assert _writes("CALL db.idx.fulltext.createNodeIndex('SourceRecord', 'name_text')")
    assert not _writes("CALL db.idx.fulltext.queryNodes('SourceRecord', $t) YIELD node")
    assert not _writes("RETURN 'CREATE' AS word")


def _api_calls() -> set[tuple[str, str]]:
    """(method, query name) of every store call in the modules that serve the API."""
    calls = set()
    for path in API_SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"query", "execute"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                calls.add((node.func.attr, node.args[0].value))
    return calls


def _store(driver: FakeDriver) -> Neo4jStore:
    settings = Settings(backend=Backend.NEO4J, neo4j_uri="neo4j://core1:7687")
    store = Neo4jStore(settings, QueryRegistry("neo4j"))
    store._driver = driver  # type: ignore[assignment]
    return store


async def test_api_queries_run_as_read_or_write_transactions_by_their_file() -> None:
    calls = _api_calls()
    names = {name for _, name in calls}
    assert set(API_READS) | set(API_WRITES) <= names, "the scan missed API queries"
    driver = FakeDriver()
    store = _store(driver)
    for name in sorted(names):
        params: dict[str, Any] = dict.fromkeys(store.registry.get(name).params)
        await store.query(name, **params)
    routing = {
        name: call["routing_"] for name, call in zip(sorted(names), driver.calls, strict=True)
    }
    for name in API_READS:
        assert routing[name] == "r", f"{name} would load the leader"
    for name in API_WRITES:
        assert routing[name] == "w", f"{name} would be refused by a follower"
    for name, mode in routing.items():
        assert mode == ("w" if store.registry.get(name).mode == "write" else "r"), name
    # `execute()` is for statements that change the graph: never on a read file
    for method, name in calls:
        if method == "execute":
            assert store.registry.get(name).mode == "write", name


async def test_reads_after_writes_stay_causally_chained() -> None:
    # No per-call bookmark manager: the driver's own one chains every query of this
    # client, so a read routed to a follower waits until it has the client's own writes.
    driver = FakeDriver()
    store = _store(driver)
    await store.query("audit_append", **dict.fromkeys(store.registry.get("audit_append").params))
    await store.query("audit_head")
    write, read = driver.calls
    assert (write["routing_"], read["routing_"]) == ("w", "r")
    for call in (write, read):
        assert "bookmark_manager_" not in call
        assert call["database_"] == store.settings.neo4j_database
