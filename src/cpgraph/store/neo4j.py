"""Neo4j 5 adapter on the official async driver (the production backend)."""

from __future__ import annotations

import logging
from typing import Any

from neo4j import AsyncDriver, AsyncGraphDatabase, Query
from neo4j import exceptions as neo4j_exc

from cpgraph.config import Settings
from cpgraph.errors import ConstraintViolationError, QueryError, StoreUnavailableError
from cpgraph.store.base import (
    GraphStore,
    Health,
    QueryTimeoutError,
    Row,
    StoreStats,
    WriteSummary,
    deadline_timeout_ms,
    redact,
)
from cpgraph.store.registry import DDL_PREFIX, QueryRegistry

log = logging.getLogger(__name__)

#: `admin_await_indexes` waits up to 300 s on the server (`db.awaitIndexes(300)`);
#: its transaction must be allowed to live that long, not the per-query timeout.
AWAIT_INDEXES_TIMEOUT_S = 330.0


def _to_plain(value: Any) -> Any:
    """Turn driver graph objects and temporal types into plain Python values."""
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if hasattr(value, "items") and hasattr(value, "element_id"):  # Node / Relationship
        return {k: _to_plain(v) for k, v in value.items()}
    if hasattr(value, "to_native"):  # neo4j.time.Date / DateTime
        return value.to_native()
    return value


class Neo4jStore(GraphStore):
    """GraphStore over Neo4j 5 (bolt / neo4j URIs)."""

    backend = "neo4j"

    def __init__(self, settings: Settings, registry: QueryRegistry | None = None) -> None:
        """Create the adapter (nothing connects until `start()`).

        Args:
            settings: cpgraph settings (URI, user, password, database, timeouts).
            registry: the query registry (default: the shipped `cypher/` for Neo4j).
        """
        self.settings = settings
        self.registry = registry or QueryRegistry("neo4j")
        self.batch_size = settings.batch_size
        self._driver: AsyncDriver | None = None
        self.round_trips = 0

    @property
    def location(self) -> str:
        return f"{self.settings.neo4j_uri} (database {self.settings.neo4j_database})"

    async def start(self) -> None:
        if self._driver is not None:
            return
        password = self.settings.neo4j_password
        auth = (
            (self.settings.neo4j_user, password.get_secret_value())
            if password is not None
            else None
        )
        try:
            self._driver = AsyncGraphDatabase.driver(self.settings.neo4j_uri, auth=auth)
            await self._driver.verify_connectivity()
        except (neo4j_exc.Neo4jError, neo4j_exc.DriverError, OSError, ValueError) as exc:
            await self.close()
            raise StoreUnavailableError(
                f"Neo4j at {self.settings.neo4j_uri} is not reachable ({type(exc).__name__})"
            ) from exc

    async def close(self) -> None:
        if self._driver is not None:
            try:
                await self._driver.close()
            except (neo4j_exc.DriverError, OSError):
                log.debug("error closing the Neo4j driver", exc_info=True)
            self._driver = None

    def sibling(self) -> Neo4jStore:
        """Another client (its own driver, for another event loop)."""
        return Neo4jStore(self.settings, self.registry)

    def _require(self) -> AsyncDriver:
        if self._driver is None:
            raise StoreUnavailableError("the graph store is not started")
        return self._driver

    async def _run(
        self, name: str, params: dict[str, Any], *, timeout_s: float | None = None
    ) -> tuple[list[Row], WriteSummary]:
        query = self.registry.check_params(name, params)
        driver = self._require()
        self.round_trips += 1
        # The file's mode decides the transaction: a write transaction is routed
        # to the cluster leader, a read one may go to any member.
        routing = "w" if query.mode == "write" else "r"
        timeout = self.settings.query_timeout_s if timeout_s is None else timeout_s
        # capped at the request's deadline: the server ends the transaction with it
        timeout = deadline_timeout_ms(name, int(timeout * 1000)) / 1000
        try:
            records, summary, keys = await driver.execute_query(
                Query(query.text, timeout=timeout),  # type: ignore[arg-type]
                params,
                database_=self.settings.neo4j_database,
                routing_=routing,
            )
        except neo4j_exc.ConstraintError as exc:
            raise ConstraintViolationError(name, "uniqueness constraint violated") from exc
        except (neo4j_exc.ServiceUnavailable, neo4j_exc.SessionExpired, OSError) as exc:
            raise StoreUnavailableError(
                f"query {name!r}: Neo4j connection failed ({type(exc).__name__})"
            ) from exc
        except neo4j_exc.Neo4jError as exc:
            if "TimedOut" in (exc.code or "") or "Timeout" in (exc.code or ""):
                raise QueryTimeoutError(name, "the database stopped it at its time limit") from exc
            raise QueryError(name, f"{exc.code}: {redact(exc.message or '')}") from exc
        except neo4j_exc.DriverError as exc:
            raise QueryError(name, type(exc).__name__) from exc
        except (TypeError, ValueError, OverflowError) as exc:
            # The driver refuses a parameter it cannot encode (a type Bolt lacks,
            # a non-string map key, an integer beyond 64 bits) before sending it.
            raise QueryError(name, f"a parameter Neo4j cannot take ({type(exc).__name__})") from exc
        counters = summary.counters
        write = WriteSummary(
            nodes_created=counters.nodes_created,
            nodes_deleted=counters.nodes_deleted,
            relationships_created=counters.relationships_created,
            relationships_deleted=counters.relationships_deleted,
            properties_set=counters.properties_set,
        )
        rows = [{k: _to_plain(rec[k]) for k in keys} for rec in records]
        return rows, write

    async def query(self, name: str, /, **params: Any) -> list[Row]:
        rows, _ = await self._run(name, params)
        return rows

    async def execute(self, name: str, /, **params: Any) -> WriteSummary:
        _, summary = await self._run(name, params)
        return summary

    async def bootstrap(self) -> list[str]:
        created = []
        for name in self.registry.names():
            if name.startswith(DDL_PREFIX):
                before = await self.query("admin_schema_count")
                await self._run(name, {})
                after = await self.query("admin_schema_count")
                # IF NOT EXISTS makes these idempotent; the count tells what changed.
                if after[0]["n"] > before[0]["n"]:
                    created.append(name)
        await self._run("admin_await_indexes", {}, timeout_s=AWAIT_INDEXES_TIMEOUT_S)
        return created

    async def health(self) -> Health:
        try:
            driver = self._require()
            info = await driver.get_server_info()
            return Health(True, self.backend, self.location, version=info.agent)
        except (neo4j_exc.Neo4jError, neo4j_exc.DriverError, OSError, StoreUnavailableError) as e:
            return Health(False, self.backend, self.location, detail=type(e).__name__)

    async def stats(self) -> StoreStats:
        nodes = {r["label"]: r["count"] for r in await self.query("stats_nodes_by_label")}
        edges = {r["type"]: r["count"] for r in await self.query("stats_edges_by_type")}
        return StoreStats(nodes=nodes, edges=edges)

    async def reset(self) -> None:
        # Constraints and indexes stay: they are recreated idempotently anyway
        # and dropping them would need names spliced into DDL.
        while True:
            summary = await self.execute("admin_delete_some", limit=10_000)
            if summary.nodes_deleted == 0:
                break
