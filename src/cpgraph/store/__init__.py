"""Graph store port and adapters. Nothing outside this package imports a driver."""

from __future__ import annotations

from cpgraph.config import Backend, Settings
from cpgraph.store.base import GraphStore, Health, Row, StoreStats, WriteSummary
from cpgraph.store.registry import QueryRegistry

__all__ = [
    "GraphStore",
    "Health",
    "QueryRegistry",
    "Row",
    "StoreStats",
    "WriteSummary",
    "create_store",
]


def create_store(settings: Settings, registry: QueryRegistry | None = None) -> GraphStore:
    """Build (not start) the store the settings ask for.

    Use it as `async with create_store(settings) as store: ...` so the
    connection (and the embedded database process) is always closed.

    Args:
        settings: which backend, where.
        registry: the named queries (default: the shipped `cypher/` for the backend).
    """
    if settings.backend == Backend.NEO4J:
        from cpgraph.store.neo4j import Neo4jStore  # noqa: PLC0415 — only load the driver in use

        return Neo4jStore(settings, registry)
    from cpgraph.store.falkordb import FalkorDBStore  # noqa: PLC0415

    return FalkorDBStore(settings, registry)
