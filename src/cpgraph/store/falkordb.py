"""FalkorDB adapter: embedded (default) or a FalkorDB server URL."""

from __future__ import annotations

import asyncio
import json
import logging
import tomllib
from typing import Any

from falkordb.asyncio import FalkorDB
from falkordb.helpers import stringify_param_value
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cpgraph.config import Settings
from cpgraph.errors import (
    ConstraintViolationError,
    QueryError,
    RegistryError,
    StoreError,
    StoreUnavailableError,
)
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
from cpgraph.store.embedded import STATE_UP, EmbeddedFalkorDB
from cpgraph.store.registry import DDL_PREFIX, QueryRegistry
from cpgraph.store.schema import Label

log = logging.getLogger(__name__)

_ALREADY = ("already indexed", "already exists")
# A liveness probe waits this long for PONG (a crashed server refuses at once).
_LIVENESS_TIMEOUT_S = 2.0
_BOOTSTRAP_ATTEMPTS = 3  # tries of the (idempotent) schema set-up when the connection drops
#: Seconds to wait for new uniqueness constraints to become operational: over an empty
#: graph, and over stored nodes (built like an index over all of them; see bootstrap).
_CONSTRAINT_WAIT = 60.0
_CONSTRAINT_WAIT_POPULATED = 600.0

# -- parameter encoding ----------------------------------------------------------------
#
# FalkorDB takes parameters as a text header (``CYPHER name=value ... <query>``) that
# the server parses with its Cypher literal grammar. The client library builds it
# value by value in Python, which for a 5,000-row UNWIND batch costs more than the
# server's work. The grammar is JSON's, except that map keys are backtick-quoted
# identifiers and ``\uXXXX`` escapes are not understood; so we let the C JSON
# encoder do the work and fall back to the library wherever that difference matters.

_JSON = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, check_circular=False, separators=(",", ":")
).encode


def _backtick_keys(text: str) -> str | None:
    """Rewrite JSON object keys ``"name":`` with the name in backticks; ``None`` if one cannot be.

    Inside a JSON string every ``"`` is escaped, so an unescaped ``":`` always ends an
    object key, and for a plain identifier key the last ``"`` before it opens the key.
    A ``":`` that is really an escaped quote inside a string (a backslash before it) leaves a
    backslash in the "key": refused, like a key that is not a plain identifier.
    """
    pieces = text.split('":')
    out = []
    for piece in pieces[:-1]:
        head, quote, key = piece.rpartition('"')
        if not (quote and key.isascii() and key.isidentifier() and head[-1:] in ("{", ",")):
            return None
        out.append(f"{head}`{key}`:")
    out.append(pieces[-1])
    return "".join(out)


def encode_param(value: Any) -> str:
    """Encode one query parameter value as FalkorDB's ``CYPHER`` header expects.

    Same result as ``falkordb.helpers.stringify_param_value`` (strings, numbers,
    booleans, null, lists and maps round-trip exactly), but built by the C JSON
    encoder: about ten times faster on large row lists.

    Falls back to the library for what the JSON text cannot say in FalkorDB's
    grammar: ``\\u`` escapes (control characters other than ``\\n \\r \\t \\b \\f``),
    map keys that are not plain identifiers, NaN/infinity and non-JSON types.
    """
    try:
        text = _JSON(value)
    except (TypeError, ValueError):
        return stringify_param_value(value)
    if "\\u" in text:
        return stringify_param_value(value)
    if '":' in text:
        keyed = _backtick_keys(text)
        # None: a key the fast path cannot quote (or a rare false alarm in a string).
        return stringify_param_value(value) if keyed is None else keyed
    return text


def params_header(params: dict[str, Any] | None) -> str:
    """The ``CYPHER name=value ...`` prefix for a query's parameters (empty for none)."""
    if not params:
        return ""
    parts = ["CYPHER "]
    for key, value in params.items():
        if not key or "`" in key:
            raise ValueError("a query parameter name must be non-empty and without backticks")
        parts.append(f"`{key}`={encode_param(value)} ")
    return "".join(parts)


def _to_plain(value: Any) -> Any:
    """Turn driver objects (nodes, edges, paths) into plain Python values."""
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    props = getattr(value, "properties", None)
    if isinstance(props, dict):
        return {k: _to_plain(v) for k, v in props.items()}
    return value


class OrderedWrites:
    """A sequence of writes that reach the server in the order they were issued.

    Several may be awaited at once: each encodes its parameters first —
    overlapping with the write already running on the server — then waits its
    turn to send. FalkorDB runs one write at a time per graph anyway, so a bulk
    loader loses nothing by queueing and gains the encoding time. Only the
    writes made through one ``OrderedWrites`` are ordered with each other.
    """

    def __init__(self, store: FalkorDBStore) -> None:
        """Start an empty sequence over ``store`` (call from its event loop)."""
        self._store = store
        self._turn = asyncio.Lock()

    async def execute(self, name: str, /, **params: Any) -> WriteSummary:
        """Run a named write query after every write issued before it."""
        return _summary(await self._store._run(name, params, turn=self._turn))


def _summary(result: Any) -> WriteSummary:
    return WriteSummary(
        nodes_created=result.nodes_created,
        nodes_deleted=result.nodes_deleted,
        relationships_created=result.relationships_created,
        relationships_deleted=result.relationships_deleted,
        properties_set=result.properties_set,
    )


class FalkorDBStore(GraphStore):
    """GraphStore over FalkorDB (Redis protocol)."""

    backend = "falkordb"

    def __init__(self, settings: Settings, registry: QueryRegistry | None = None) -> None:
        """Create the adapter (nothing starts until `start()`).

        Args:
            settings: cpgraph settings (data dir or server URL, graph name, timeouts).
            registry: the query registry (default: the shipped `cypher/` for FalkorDB).
        """
        self.settings = settings
        self.registry = registry or QueryRegistry("falkordb")
        self.batch_size = settings.batch_size
        self._embedded: EmbeddedFalkorDB | None = None
        self._db: FalkorDB | None = None
        self._graph: Any = None
        self.round_trips = 0
        self._timeout_ms = int(settings.query_timeout_s * 1000)
        # set on a sibling: connect to this socket of an embedded server another
        # client of this process started (and will stop)
        self._socket_path: str | None = None
        self._own_socket: str | None = None

    @property
    def location(self) -> str:
        if self.settings.falkordb_url:
            # Never print credentials that may sit in the URL.
            url = self.settings.falkordb_url
            return url.split("@")[-1] if "@" in url else url
        return str(self.settings.data_dir.expanduser().resolve())

    @property
    def embedded(self) -> EmbeddedFalkorDB | None:
        """The embedded server manager, when running embedded."""
        return self._embedded

    async def start(self) -> None:
        if self._db is not None:
            return
        try:
            if self.settings.falkordb_url:
                # from_url probes the server synchronously (cluster detection).
                self._db = FalkorDB.from_url(self.settings.falkordb_url)
            elif self._socket_path is not None:
                self._db = FalkorDB(unix_socket_path=self._socket_path)
            else:
                self._embedded = EmbeddedFalkorDB(
                    self.settings.data_dir,
                    self.settings.store_start_timeout_s,
                    self.settings.store_hang_timeout_s,
                )
                # The server is started (and restarted after a crash) by a supervisor
                # thread of the embedded manager, whose life its death signal follows.
                handle = self._embedded.start()
                self._db = FalkorDB(unix_socket_path=handle.socket_path)
                self._own_socket = str(handle.socket_path)
            self._graph = self._db.select_graph(self.settings.graph_name)
            await self._db.connection.ping()
        except (RedisError, OSError) as exc:
            await self.close()
            raise StoreUnavailableError(
                f"FalkorDB at {self.location} is not reachable ({type(exc).__name__})"
            ) from exc
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._db is not None:
            try:
                await self._db.connection.aclose()
            except (RedisError, OSError, RuntimeError):
                log.debug("error closing FalkorDB connection", exc_info=True)
            self._db = None
            self._graph = None
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.stop)
            self._embedded = None

    def sibling(self) -> FalkorDBStore | None:
        """Another client of this started database (its own connections, for another
        event loop); it never starts or stops the embedded server."""
        twin = FalkorDBStore(self.settings, self.registry)
        if not self.settings.falkordb_url:
            socket_path = self._socket_path or self._own_socket
            if socket_path is None:
                return None
            twin._socket_path = socket_path
        return twin

    def _require(self) -> Any:
        if self._graph is None:
            raise StoreUnavailableError("the graph store is not started")
        return self._graph

    async def _run(
        self, name: str, params: dict[str, Any], *, turn: asyncio.Lock | None = None
    ) -> Any:
        query = self.registry.check_params(name, params)
        graph = self._require()
        # FalkorDB's TIMEOUT stops the query on the server: capped at the request's
        # deadline, a timed-out request leaves no query running behind it.
        timeout_ms = deadline_timeout_ms(name, self._timeout_ms)
        self.round_trips += 1
        text = params_header(params) + query.text
        try:
            if query.mode == "write":
                if turn is None:
                    return await graph.query(text, None, timeout=timeout_ms)
                async with turn:
                    return await graph.query(text, None, timeout=timeout_ms)
            return await graph.ro_query(text, None, timeout=timeout_ms)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise StoreUnavailableError(
                f"query {name!r}: FalkorDB connection failed ({type(exc).__name__})"
            ) from exc
        except (ResponseError, RedisError) as exc:
            message = redact(str(exc))
            if "timed out" in message.lower():
                raise QueryTimeoutError(name, "the database stopped it at its time limit") from exc
            if "unique constraint violation" in message.lower():
                raise ConstraintViolationError(name, message) from exc
            raise QueryError(name, message) from exc

    def ordered_writes(self) -> OrderedWrites:
        """A new :class:`OrderedWrites` sequence (bulk loaders keep a write queued)."""
        return OrderedWrites(self)

    async def query(self, name: str, /, **params: Any) -> list[Row]:
        result = await self._run(name, params)
        header = [h[1] if isinstance(h, (list, tuple)) else h for h in result.header]
        return [
            {col: _to_plain(val) for col, val in zip(header, rec, strict=True)}
            for rec in result.result_set
        ]

    async def execute(self, name: str, /, **params: Any) -> WriteSummary:
        return _summary(await self._run(name, params))

    async def _command(self, *args: Any) -> Any:
        self.round_trips += 1
        try:
            return await self._db.connection.execute_command(*args)  # type: ignore[union-attr]
        except (RedisConnectionError, OSError) as exc:
            raise StoreUnavailableError(f"FalkorDB command {args[0]} failed") from exc

    async def bootstrap(self) -> list[str]:
        # DDL is idempotent: a connection lost mid-way (the server restarted by its
        # supervisor, or a reset under heavy load) is retried once the store answers
        for _ in range(_BOOTSTRAP_ATTEMPTS - 1):
            try:
                return await self._bootstrap_once()
            except StoreUnavailableError:
                if not await self.wait_available():
                    raise
                log.warning("the store connection was lost during bootstrap; retrying")
        return await self._bootstrap_once()

    async def _bootstrap_once(self) -> list[str]:
        created: list[str] = []
        for name in self.registry.names():
            if not name.startswith(DDL_PREFIX):
                continue
            try:
                summary = await self._run(name, {})
            except QueryError as exc:
                if any(s in str(exc).lower() for s in _ALREADY):
                    continue
                raise
            if summary.indices_created:
                created.append(name)
        constraints = await self._create_constraints()
        created.extend(name for _, name in constraints)
        labels = {label for label, _ in constraints}
        populated = bool(labels) and await self._populated(labels)
        # over stored nodes (after a bulk load: a million and more) a constraint takes
        # as long as its index: a busy machine needed more than a minute at 1M mentions
        await self._wait_constraints_operational(
            _CONSTRAINT_WAIT_POPULATED if populated else _CONSTRAINT_WAIT
        )
        if populated and self._embedded is not None and await self.log_enabled():
            # A constraint created over stored nodes (after a bulk load, or to replace
            # one a killed command never finished) is logged as an effect FalkorDB may
            # fail to replay before its index is rebuilt ("missing supporting
            # exact-match index"): the store would not start again. Log the schema as
            # part of a snapshot instead. (With the log paused, as a bulk load pauses
            # it, nothing was logged: resuming it writes the snapshot.)
            await self.rewrite_log_when_idle()
        return created

    async def _populated(self, labels: set[str]) -> bool:
        """Whether any of `labels` already has nodes."""
        nodes = (await self.stats()).nodes
        return any(nodes.get(label, 0) for label in labels)

    async def rewrite_log_when_idle(self, attempts: int = 600) -> None:
        """`rewrite_log`, waiting out a rewrite the server had already started.

        Raises:
            StoreError: the rewrite failed, or the server kept rewriting for
                `attempts` half-second waits.
        """
        for _ in range(attempts):
            try:
                await self.rewrite_log()
                return
            except StoreError as exc:
                if "in progress" not in str(exc).lower():
                    raise
            except RedisError as exc:
                if "in progress" not in str(exc).lower():
                    raise StoreError(
                        f"rewriting the append-only file failed: {redact(str(exc))}"
                    ) from exc
            await asyncio.sleep(0.5)
        raise StoreError("the server kept rewriting its append-only file; try again")

    def _constraint_specs(self) -> list[tuple[str, str, list[str]]]:
        path = self.registry.cypher_dir / "falkordb" / "constraints.toml"
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RegistryError(f"cannot read {path.name}: {exc}") from exc
        specs = []
        for item in data.get("unique", []):
            label = Label(item["label"]).value  # closed enum: unknown labels fail here
            specs.append(("UNIQUE", label, list(item["properties"])))
        return specs

    async def _existing_constraints(self) -> set[tuple[str, str, tuple[str, ...]]]:
        rows = await self.query("constraints_list")
        return {
            (r["type"], r["label"], tuple(r["properties"]))
            for r in rows
            if r.get("entitytype") == "NODE"
        }

    async def _create_constraints(self) -> list[tuple[str, str]]:
        """Create the missing uniqueness constraints; return (label, name) of each."""
        created = []
        existing = await self._existing_constraints()
        for kind, label, props in self._constraint_specs():
            if (kind, label, tuple(props)) in existing:
                continue
            try:
                await self._command(
                    "GRAPH.CONSTRAINT",
                    "CREATE",
                    self.settings.graph_name,
                    kind,
                    "NODE",
                    label,
                    "PROPERTIES",
                    len(props),
                    *props,
                )
            except ResponseError as exc:
                if "already exists" in str(exc).lower():
                    continue
                raise QueryError("graph_constraint_create", redact(str(exc))) from exc
            created.append((label, f"unique:{label}.{'.'.join(props)}"))
        return created

    async def _wait_constraints_operational(self, timeout: float = _CONSTRAINT_WAIT) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            rows = await self.query("constraints_list")
            failed = [r for r in rows if r.get("status") == "FAILED"]
            if failed:
                raise StoreError(
                    "a uniqueness constraint failed to build (duplicate values already stored): "
                    + ", ".join(f"{r['label']}.{r['properties']}" for r in failed)
                )
            if all(r.get("status") == "OPERATIONAL" for r in rows):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise StoreError("constraints did not become operational in time")
            await asyncio.sleep(0.05)

    def _supervised_state(self) -> str | None:
        """The embedded server's state when this process supervises it and it is not up.

        A guest sharing another process's server knows only what a PING tells.
        """
        embedded = self._embedded
        if embedded is None or embedded.handle is None or not embedded.handle.owner:
            return None
        state = embedded.state
        return None if state == STATE_UP else state

    async def liveness(self) -> Health:
        """The supervisor's view of the embedded server, then one PING (no module list)."""
        state = self._supervised_state()
        if state is not None:
            return Health(False, self.backend, self.location, detail=state)
        try:
            self.round_trips += 1
            async with asyncio.timeout(_LIVENESS_TIMEOUT_S):
                pong = await self._db.connection.ping()  # type: ignore[union-attr]
        except (RedisError, OSError, TimeoutError, AttributeError) as exc:
            return Health(False, self.backend, self.location, detail=type(exc).__name__)
        # The client retries a lost connection, so the PONG may come from a server the
        # supervisor is still bringing up: up only once the supervisor says so.
        state = self._supervised_state()
        if state is not None:
            return Health(False, self.backend, self.location, detail=state)
        return Health(bool(pong), self.backend, self.location)

    async def rewrite_log(self, timeout_s: float = 3600.0) -> None:
        """Rewrite the append-only file as a snapshot of the graph now, and wait for it.

        After ``GRAPH.BULK`` the file must start from a snapshot: FalkorDB does not
        replay a bulk-created graph with the writes made after it (the server then
        refuses to start: "GRAPH.EFFECT references label ... which doesn't match
        local schema state").

        Raises:
            StoreError: the rewrite failed or did not end within ``timeout_s``.
        """
        await self._command("BGREWRITEAOF")
        await self._wait_rewrite(timeout_s)

    async def log_enabled(self) -> bool:
        """Whether the server appends writes to its append-only file now."""
        info = await self._db.connection.info("persistence")  # type: ignore[union-attr]
        return bool(info.get("aof_enabled"))

    async def pause_log(self) -> bool:
        """Stop appending to the append-only file (``CONFIG SET appendonly no``).

        Returns:
            Whether it was on and is now paused: False where the server keeps no such
            file, or refuses ``CONFIG`` (a managed server).
        """
        if not await self.log_enabled():
            return False
        try:
            await self._command("CONFIG", "SET", "appendonly", "no")
        except RedisError:
            return False
        return True

    async def resume_log(self, timeout_s: float = 3600.0) -> None:
        """Turn the append-only file back on (``CONFIG SET appendonly yes``), and wait.

        The server starts the file again from a snapshot of the graph now (schema
        included), as :meth:`rewrite_log` does; until that snapshot is complete, the
        file it had before the pause is the one a restart replays.

        Raises:
            StoreError: the snapshot failed or did not end within ``timeout_s``.
        """
        try:
            await self._command("CONFIG", "SET", "appendonly", "yes")
        except RedisError as exc:
            raise StoreError(
                f"turning the append-only file back on failed: {redact(str(exc))}"
            ) from exc
        await self._wait_rewrite(timeout_s)

    async def _wait_rewrite(self, timeout_s: float) -> None:
        """Wait for the server's append-only file rewrite to end; raise if it failed."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            info = await self._db.connection.info("persistence")  # type: ignore[union-attr]
            if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
                break
            if asyncio.get_running_loop().time() > deadline:
                raise StoreError("the append-only file rewrite did not end in time")
            await asyncio.sleep(0.05)
        if info.get("aof_last_bgrewrite_status") != "ok":
            raise StoreError("the append-only file rewrite failed (see falkordb.log)")

    async def wait_available(self, timeout_s: float | None = None) -> bool:
        """See `GraphStore.wait_available`; by default as long as a start may take."""
        if timeout_s is None:
            timeout_s = self.settings.store_start_timeout_s
        return await super().wait_available(timeout_s)

    async def health(self) -> Health:
        state = self._supervised_state()
        if state is not None:
            return Health(False, self.backend, self.location, detail=state)
        try:
            self.round_trips += 1
            pong = await self._db.connection.ping()  # type: ignore[union-attr]
            info = await self._command("MODULE", "LIST")
            version = ""
            for module in info or []:
                fields = dict(zip(module[::2], module[1::2], strict=False))
                name = fields.get("name") or fields.get(b"name")
                if name in ("graph", b"graph"):
                    version = str(fields.get("ver") or fields.get(b"ver"))
        except (RedisError, OSError, StoreError, AttributeError) as exc:
            return Health(False, self.backend, self.location, detail=type(exc).__name__)
        state = self._supervised_state()  # as in `liveness`
        if state is not None:
            return Health(False, self.backend, self.location, detail=state)
        return Health(bool(pong), self.backend, self.location, version=version)

    async def stats(self) -> StoreStats:
        # FalkorDB creates a graph's key on its first write; until then a read of it
        # fails ("empty key"), so a store nothing was written to yet is simply empty
        if not await self._command("EXISTS", self.settings.graph_name):
            return StoreStats(nodes={}, edges={})
        nodes = {r["label"]: r["count"] for r in await self.query("stats_nodes_by_label")}
        edges = {r["type"]: r["count"] for r in await self.query("stats_edges_by_type")}
        return StoreStats(nodes=nodes, edges=edges)

    async def reset(self) -> None:
        graph = self._require()
        self.round_trips += 1
        try:
            await graph.delete()
        except ResponseError as exc:
            # Deleting a graph that was never created is not an error for us.
            if "empty key" not in str(exc).lower() and "invalid graph" not in str(exc).lower():
                raise QueryError("graph_delete", redact(str(exc))) from exc
        self._graph = self._db.select_graph(self.settings.graph_name)  # type: ignore[union-attr]
