"""The `GraphStore` port: the only way the rest of cpgraph talks to a database.

Adapters (FalkorDB, Neo4j) implement it; no other module imports a driver.
Every statement is a named query from the registry, run with parameters only.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from cpgraph.errors import QueryError
from cpgraph.store.registry import QueryRegistry

Row = dict[str, Any]


@dataclass(slots=True)
class WriteSummary:
    """Counters a write reports (summed over batches)."""

    nodes_created: int = 0
    nodes_deleted: int = 0
    relationships_created: int = 0
    relationships_deleted: int = 0
    properties_set: int = 0
    rows: int = 0
    batches: int = 0

    def add(self, other: WriteSummary) -> WriteSummary:
        """Add another summary's counters to this one and return self."""
        self.nodes_created += other.nodes_created
        self.nodes_deleted += other.nodes_deleted
        self.relationships_created += other.relationships_created
        self.relationships_deleted += other.relationships_deleted
        self.properties_set += other.properties_set
        self.rows += other.rows
        self.batches += other.batches
        return self


@dataclass(slots=True)
class Health:
    """What `health()` reports."""

    ok: bool
    backend: str
    location: str
    detail: str = ""
    version: str = ""


@dataclass(slots=True)
class StoreStats:
    """Node and edge counts by label / type."""

    nodes: dict[str, int] = field(default_factory=dict)
    edges: dict[str, int] = field(default_factory=dict)


def json_page(page: Any) -> list[list[Any]]:
    """A page query's rows: FalkorDB sends them as one JSON text (one parse, not one per
    value), Neo4j as a list (None: no rows)."""
    return json.loads(page) if isinstance(page, str) else list(page or [])


async def cursor_pages(
    store: GraphStore, start: str, page: str, **params: Any
) -> AsyncIterator[tuple[list[list[Any]], Any, Any]]:
    """Every page of a cursor query pair, with the cursor range each covers.

    ``start`` answers one row: the first cursor (``after``) and, where the backend knows
    it, the last (``last``; FalkorDB pages node-id windows, Neo4j a keyset without a
    known end). ``page`` answers one row: the page (``page``, see :func:`json_page`) and
    the next cursor (``next``; None once past the end).

    Yields:
        ``(rows, after, upto)``: a page's rows and the cursor range they came from (a
        caller reads what else lies in that range, e.g. the mentions' relationships).
    """
    first = (await store.query(start))[0]
    after, last = first["after"], first["last"]
    while last is None or after < last:
        rec = (await store.query(page, after=after, **params))[0]
        upto = rec["next"]
        if upto is None:  # an empty page of a cursor without a known end
            return
        # (the parsed rows are not kept here: a caller that drops a page frees it)
        yield json_page(rec["page"]), after, upto
        after = upto


class QueryTimeoutError(QueryError):
    """The database stopped a query at its time limit (the caller's deadline)."""


# The monotonic time by which the current request (task) must be done. Adapters cap
# each query's server-side timeout at what is left, so a request that times out
# stops its query in the database too, not only in Python.
_DEADLINE: ContextVar[float | None] = ContextVar("cpgraph_query_deadline", default=None)


@contextmanager
def query_deadline(seconds: float) -> Iterator[None]:
    """Queries run inside the block (in this task and tasks it starts) end by then.

    A nested, later deadline never extends an earlier one.
    """
    at = time.monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set(at if outer is None else min(at, outer))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def deadline_timeout_ms(name: str, default_ms: int) -> int:
    """A query's timeout: the default, capped at what is left of the deadline.

    Raises:
        QueryTimeoutError: the deadline has passed (the query is not sent).
    """
    at = _DEADLINE.get()
    if at is None:
        return default_ms
    left_ms = int((at - time.monotonic()) * 1000)
    if left_ms <= 0:
        raise QueryTimeoutError(name, "the request's time limit was reached")
    return max(1, min(default_ms, left_ms))


_QUOTED_RE = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")


def redact(message: str, limit: int = 240) -> str:
    """Strip quoted values out of a driver message so no record data leaks.

    Driver errors can echo property values (a duplicate key, a parameter);
    we keep the shape of the message and drop every quoted literal.
    """
    first_line = message.strip().splitlines()[0] if message.strip() else ""
    return _QUOTED_RE.sub("'…'", first_line)[:limit]


def chunked(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    """Yield lists of at most `size` rows."""
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class GraphStore(ABC):
    """Async port over a graph database.

    Attributes:
        backend: `falkordb` or `neo4j`.
        registry: the named queries for this backend's dialect.
        round_trips: number of queries sent since creation (tests use it to
            prove there is no N+1).
    """

    backend: str
    registry: QueryRegistry
    round_trips: int = 0

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the data lives (path or URI), without credentials."""

    @abstractmethod
    async def start(self) -> None:
        """Connect (and for the embedded store, start the database process)."""

    @abstractmethod
    async def close(self) -> None:
        """Disconnect and stop any process this store started. Idempotent."""

    @abstractmethod
    async def query(self, name: str, /, **params: Any) -> list[Row]:
        """Run a named query and return its rows as dicts.

        Raises:
            UnknownQueryError: unknown name.
            RegistryError: parameters do not match the query's.
            QueryError: the database rejected or failed the query.
        """

    @abstractmethod
    async def execute(self, name: str, /, **params: Any) -> WriteSummary:
        """Run a named write query and return its counters."""

    async def write_batches(
        self,
        name: str,
        rows: Iterable[Row],
        *,
        batch_size: int | None = None,
        **params: Any,
    ) -> WriteSummary:
        """Run a named `UNWIND $rows ...` query once per batch of rows.

        Args:
            name: the query; it must use `$rows`.
            rows: validated rows (dicts of primitives / lists of primitives).
            batch_size: rows per round trip (default: settings).
            **params: any further parameters the query uses.
        """
        total = WriteSummary()
        for batch in chunked(rows, batch_size or self.batch_size):
            summary = await self.execute(name, rows=batch, **params)
            summary.rows = len(batch)
            summary.batches = 1
            total.add(summary)
        return total

    async def liveness(self) -> Health:
        """A cheap check that the store answers now (what a liveness probe asks).

        The default is `health()`; adapters may answer with less work.
        """
        return await self.health()

    async def wait_available(self, timeout_s: float | None = None) -> bool:
        """Wait until the store answers again, e.g. once its supervisor has restarted it.

        Args:
            timeout_s: how long to wait (default: the adapter's start-up allowance).

        Returns:
            True when it answers, False when `timeout_s` passed first.
        """
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else 60.0)
        while not (await self.liveness()).ok:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.1)
        return True

    @abstractmethod
    async def bootstrap(self) -> list[str]:
        """Create constraints and indexes idempotently; return what was created."""

    @abstractmethod
    async def health(self) -> Health:
        """Check the database answers."""

    @abstractmethod
    async def stats(self) -> StoreStats:
        """Count nodes by label and edges by type."""

    @abstractmethod
    async def reset(self) -> None:
        """Delete every node and edge of cpgraph's graph.

        FalkorDB drops the whole graph key (schema included); Neo4j keeps its
        constraints and indexes. Either way, call `bootstrap()` afterwards.
        """

    batch_size: int = 5000

    def sibling(self) -> GraphStore | None:
        """Another client of the same started database, to start and use on another
        event loop (the API runs GraphQL on its own loop); None if the adapter cannot."""
        return None

    async def __aenter__(self) -> GraphStore:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def rows_from(header: Sequence[str], records: Iterable[Sequence[Any]]) -> list[Row]:
    """Zip a result header with its records."""
    return [dict(zip(header, rec, strict=True)) for rec in records]
