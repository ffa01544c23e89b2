"""FalkorDB's bulk path: a :class:`~cpgraph.store.bulk.BulkGraph` through ``GRAPH.BULK``.

``GRAPH.BULK`` is the command behind FalkorDB's ``falkordb-bulk-loader``: binary
tokens of nodes (a label header, then each node's property values) and edges
(source and target node ids, then values), created in C without parsing or
planning any Cypher. Its first call (``BEGIN``) must create the graph key, and an
edge names its ends by the internal ids the nodes got, which are their positions
in the order sent when the graph starts empty. So the bulk path:

1. refuses a store that holds any node (users and audit entries included: they
   could not be kept while the key is re-created);
2. drops the graph key (it holds only the schema then) and sends every node, then
   every edge, in calls of at most :data:`MAX_CALL_BYTES`;
3. re-creates the indexes and constraints (``bootstrap``) over the loaded nodes —
   once, rather than updating them node by node, and while the edges are sent —
   and waits until every index is built. A uniqueness constraint that does not
   hold would fail here;
4. the append-only file is paused from step 2 and resumed here: it then starts from a
   snapshot of graph and schema (FalkorDB cannot replay ``GRAPH.BULK`` followed by
   other writes). Where the pause is refused, the file is rewritten after step 2 and
   again after the constraints instead.

Anything that goes wrong after step 2 began drops the graph again and re-creates
the schema, so the store is left empty, never half loaded.

The value encoding is the bulk loader's (``falkordb_bulk_loader/entity_file.py``):
one type byte, then nothing (null), one byte (bool), 8 bytes (long / double), a
NUL-terminated UTF-8 string, or an 8-byte length and the elements (array).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from cpgraph.errors import StoreError
from cpgraph.store.base import redact
from cpgraph.store.bulk import BulkGraph, BulkImportError, EdgeTable, store_is_empty
from cpgraph.store.schema import Label

if TYPE_CHECKING:  # pragma: no cover
    from cpgraph.store.falkordb import FalkorDBStore

#: Largest single token (one label's or type's run of entities) sent.
MAX_TOKEN_BYTES = 16 << 20
#: Largest ``GRAPH.BULK`` call: the server holds a whole call in memory at once.
MAX_CALL_BYTES = 64 << 20

_NULL = b"\x00"
_TRUE = b"\x01\x01"
_FALSE = b"\x01\x00"
_LONG = struct.Struct("=Bq").pack
_DOUBLE = struct.Struct("=Bd").pack
_ARRAY = struct.Struct("=Bq").pack
_EDGE_ENDS = struct.Struct("=QQ").pack
_COUNT = struct.Struct("=I").pack
_INT64 = (-(1 << 63), (1 << 63) - 1)

ProgressFn = Callable[[str, int, int], None]


def _string(value: str) -> bytes:
    if "\x00" in value:
        raise BulkImportError("a string property holds a NUL character")
    return b"\x03" + value.encode("utf-8") + b"\x00"


def _long(value: int) -> bytes:
    if not _INT64[0] <= value <= _INT64[1]:
        raise BulkImportError("an integer property does not fit in 64 bits")
    return _LONG(4, value)


def _array(value: list[Any] | tuple[Any, ...]) -> bytes:
    return _ARRAY(5, len(value)) + b"".join([encode_value(v) for v in value])


_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    str: _string,
    type(None): lambda _: _NULL,
    bool: lambda v: _TRUE if v else _FALSE,
    int: _long,
    float: lambda v: _DOUBLE(2, v),
    list: _array,
    tuple: _array,
}


def encode_value(value: Any) -> bytes:
    """One property value in ``GRAPH.BULK``'s binary form.

    Raises:
        BulkImportError: a type the store cannot hold, an integer beyond 64 bits,
            or a string with a NUL character (never the value itself in the message).
    """
    encoder = _ENCODERS.get(type(value))
    if encoder is None:
        raise BulkImportError(f"a property of type {type(value).__name__} cannot be bulk loaded")
    return encoder(value)


def _encode_row(row: Sequence[Any]) -> bytes:
    """A node's or edge's property values, one after the other."""
    get = _ENCODERS.get
    try:
        return b"".join([get(type(v))(v) for v in row])  # type: ignore[misc]
    except TypeError:  # an unknown type (get gave None): say which
        for v in row:
            encode_value(v)
        raise


def _header(name: str, columns: Sequence[str]) -> bytes:
    parts = [name.encode("utf-8"), b"\x00", _COUNT(len(columns))]
    for col in columns:
        parts.append(col.encode("utf-8"))
        parts.append(b"\x00")
    return b"".join(parts)


def _tokens(header: bytes, entities: Iterator[bytes]) -> Iterator[tuple[bytes, int]]:
    """Cut a run of encoded entities into tokens of at most MAX_TOKEN_BYTES: ``(token, count)``."""
    parts = [header]
    size = len(header)
    count = 0
    for data in entities:
        if count and size + len(data) > MAX_TOKEN_BYTES:
            yield b"".join(parts), count
            parts, size, count = [header], len(header), 0
        parts.append(data)
        size += len(data)
        count += 1
    if count:
        yield b"".join(parts), count


#: Distinct edge value tuples kept encoded at once (see `_edge_rows`).
_EDGE_VALUES_KEPT = 4096

#: Where each node table's rows went in the order sent: label -> new position per row.
Positions = dict[Label, list[int]]

_BOOL_BYTES = {True: _TRUE, False: _FALSE}
_NONE = type(None)


def _shape_encoder(
    name: str, columns: Sequence[str], shape: tuple[type, ...]
) -> tuple[bytes, Callable[[Sequence[Any]], bytes]]:
    """The header and row encoder of ``name``'s rows whose values have the types ``shape``.

    Null columns are left out (an absent property is what a null sends). String
    columns come first and are encoded in one go: ``"\x03" + "\x00\x03".join(...)``
    is the strings' encoding in a single ``str``, so the row costs a few C calls
    rather than a Python call per value; then booleans, then anything else value
    by value.
    """
    texts = [i for i, t in enumerate(shape) if t is str]
    flags = [i for i, t in enumerate(shape) if t is bool]
    others = [i for i, t in enumerate(shape) if t is not str and t is not bool and t is not _NONE]
    order = texts + flags + others
    header = _header(name, [columns[i] for i in order])
    get_texts = _getter(texts)
    get_flags = _getter(flags)
    get_others = _getter(others)
    nuls = len(texts) - 1
    bools = _BOOL_BYTES.__getitem__

    def encode(row: Sequence[Any]) -> bytes:
        data = b""
        if texts:
            text = "\x00\x03".join(get_texts(row))
            if text.count("\x00") != nuls:
                for value in get_texts(row):
                    encode_value(value)  # says which is wrong (a NUL in a string)
            data = b"\x03" + text.encode("utf-8") + b"\x00"
        if flags:
            data += b"".join(map(bools, get_flags(row)))
        if others:
            data += b"".join(map(encode_value, get_others(row)))
        return data

    return header, encode


def _getter(indexes: list[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """A row's values at ``indexes``, always as a sequence."""
    if not indexes:
        return lambda _row: ()
    if len(indexes) == 1:
        (only,) = indexes
        return lambda row: (row[only],)
    return itemgetter(*indexes)


def node_tokens(
    graph: BulkGraph, positions: Positions | None = None
) -> Iterator[tuple[bytes, int]]:
    """Every node as ``(token, nodes in it)``, tables in order (their ids follow that order).

    Within a table, rows are sent grouped by the types of their values (their
    *shape*): each group is its own token, whose header names only the columns
    that group has values for. Node ids follow the order sent, so where each row
    went is recorded in ``positions`` (label -> new index per row), for
    :func:`edge_tokens`.
    """
    for table in graph.nodes:
        width = len(table.columns)
        groups: dict[tuple[type, ...], list[int]] = {}
        for i, row in enumerate(table.rows):
            shape = tuple(map(type, row if len(row) == width else row[:width]))
            group = groups.get(shape)
            if group is None:
                groups[shape] = [i]
            else:
                group.append(i)
        where = [0] * len(table.rows)
        at = 0
        for shape, rows in groups.items():
            header, encode = _shape_encoder(table.label.value, table.columns, shape)
            for i in rows:
                where[i] = at
                at += 1
            entities = (encode(table.rows[i]) for i in rows)
            yield from _tokens(header, entities)
        if positions is not None:
            positions[table.label] = where


def _edge_rows(
    table: EdgeTable,
    src_at: int,
    dst_at: int,
    src_where: list[int] | None,
    dst_where: list[int] | None,
    src_n: int,
    dst_n: int,
) -> Iterator[bytes]:
    # Most edges repeat a few value tuples (their system, role, first and last seen):
    # each distinct one is encoded once.
    encoded: dict[tuple[Any, ...], bytes] = {}
    for src, dst, values in table.rows:
        if not (0 <= src < src_n and 0 <= dst < dst_n):
            raise BulkImportError(f"a {table.type.value} edge points at no node")
        if src_where is not None:
            src = src_where[src]
        if dst_where is not None:
            dst = dst_where[dst]
        key = tuple(values)
        try:
            data = encoded.get(key)
        except TypeError:  # an unhashable value (a list): not kept
            data = _encode_row(values)
        else:
            if data is None:
                data = encoded[key] = _encode_row(values)
                if len(encoded) > _EDGE_VALUES_KEPT:
                    encoded.clear()  # mostly distinct values: a bounded memo, not a copy
        yield _EDGE_ENDS(src_at + src, dst_at + dst) + data


def edge_tokens(
    graph: BulkGraph, positions: Positions | None = None
) -> Iterator[tuple[bytes, int]]:
    """Every edge as ``(token, edges in it)``, its ends as node ids (see :func:`node_tokens`).

    ``positions``: what :func:`node_tokens` recorded (None: rows sent in table order).
    """
    offsets = graph.offsets()
    where = positions or {}
    for table in graph.edges:
        rows = _edge_rows(
            table,
            offsets[table.source],
            offsets[table.target],
            where.get(table.source),
            where.get(table.target),
            len(graph.node_table(table.source).rows),
            len(graph.node_table(table.target).rows),
        )
        yield from _tokens(_header(table.type.value, table.columns), rows)


def _calls(tokens: Iterator[tuple[bytes, int]]) -> Iterator[tuple[list[bytes], int]]:
    """Group tokens into calls of at most MAX_CALL_BYTES: ``(tokens, entities)``."""
    batch: list[bytes] = []
    size = count = 0
    for token, n in tokens:
        if batch and size + len(token) > MAX_CALL_BYTES:
            yield batch, count
            batch, size, count = [], 0, 0
        batch.append(token)
        size += len(token)
        count += n
    if batch:
        yield batch, count


async def _send(store: FalkorDBStore, args: list[Any]) -> None:
    try:
        await store._command("GRAPH.BULK", store.settings.graph_name, *args)
    except RedisError as exc:
        raise BulkImportError(f"GRAPH.BULK failed: {redact(str(exc))}") from exc


async def wait_indexes(store: Any, timeout: float = 600.0) -> None:
    """Wait until the store reports no index still being built.

    Raises:
        BulkImportError: indexes were still building after ``timeout`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await store.query("bulk_indexes_pending")
        if not rows or not rows[0]["pending"]:
            return
        if loop.time() > deadline:
            raise BulkImportError("indexes were still being built after the bulk load")
        await asyncio.sleep(0.1)


async def bulk_insert(
    store: FalkorDBStore,
    graph: BulkGraph,
    *,
    progress: ProgressFn | None = None,
    release: Callable[[], None] | None = None,
) -> None:
    """Create ``graph`` in an empty FalkorDB store through ``GRAPH.BULK``, then its schema.

    Args:
        store: a started FalkorDB store whose graph holds no node.
        graph: the nodes and edges to create.
        progress: called as ``progress("bulk", entities done, entities in all)``.
        release: called in a worker thread once the server has taken the whole graph,
            while it builds the indexes: the caller frees what it held for the load
            (millions of objects: seconds of work the load would otherwise wait for
            after the server is done, or at exit).

    Raises:
        BulkImportError: the store holds nodes, or the bulk command failed (the
            store is then left empty, with its schema).
    """
    if not await store_is_empty(store):
        raise BulkImportError("the bulk path needs an empty store, and this one holds nodes")
    total = graph.node_count + graph.edge_count
    # Redis rewrites the append-only file by itself as it grows: mid-load that forks and
    # writes the graph over and over, and a rewrite still running when the load ends
    # would leave GRAPH.BULK calls after its snapshot. Paused until the load is done.
    auto_rewrite = await _config_get(store, "auto-aof-rewrite-percentage")
    await _config_set(store, "auto-aof-rewrite-percentage", "0")
    try:
        await _insert(store, graph, total, progress, release)
    finally:
        if auto_rewrite is not None:
            with contextlib.suppress(Exception):
                await _config_set(store, "auto-aof-rewrite-percentage", auto_rewrite)


async def _insert(
    store: FalkorDBStore,
    graph: BulkGraph,
    total: int,
    progress: ProgressFn | None,
    release: Callable[[], None] | None,
) -> None:
    done = 0
    # The append-only file is paused while the graph is sent and its schema built: it
    # would take every GRAPH.BULK call (the whole graph) only to be rewritten as a
    # snapshot after it, and again after the constraints. Resumed at the end, it starts
    # from one snapshot of graph and schema; until then a restart replays the file as
    # it was before the load (an empty store), as a failed bulk load must leave it.
    paused = await store.pause_log()
    pending: asyncio.Future[None] | None = None
    schema: asyncio.Future[list[str]] | None = None
    freeing: asyncio.Future[None] | None = None
    try:
        await store.reset()  # only the schema is dropped: it is re-created below
        first = True
        positions: Positions = {}
        for is_node, tokens in (
            (True, node_tokens(graph, positions)),
            (False, edge_tokens(graph, positions)),  # after every node: positions complete
        ):
            if not is_node and paused:
                # Indexes and constraints are on nodes only: the server builds them while
                # the edges are encoded and sent, not after. (Logged, the schema must wait:
                # the file is rewritten after the last GRAPH.BULK call, before any other.)
                if pending is not None:
                    await pending
                    pending = None
                schema = asyncio.ensure_future(store.bootstrap())
            calls = _calls(tokens)
            while True:
                # The next call is encoded in a worker thread while the server runs the
                # previous one.
                item = await asyncio.to_thread(next, calls, None)
                if item is None:
                    break
                batch, count = item
                counts = [count, 0, len(batch), 0] if is_node else [0, count, 0, len(batch)]
                args = (["BEGIN"] if first else []) + counts + batch
                first = False
                if pending is not None:
                    await pending
                pending = asyncio.ensure_future(_send(store, args))
                done += count
                if progress is not None:
                    progress("bulk", done, total)
        if pending is not None:
            await pending
            pending = None
        if release is not None:
            freeing = asyncio.ensure_future(asyncio.to_thread(release))
        if not paused:
            # the append-only file must not start with GRAPH.BULK: FalkorDB cannot replay
            # it with the writes made after it (the store would not start again).
            # Rewritten before any other write, so a crash at any point leaves a file
            # that replays.
            await _rewrite_log(store)
        # the schema built over the loaded graph: with the log on, `bootstrap` rewrites
        # the file once more when it creates constraints over stored nodes (see
        # FalkorDBStore.bootstrap)
        if schema is not None:
            await schema
        else:
            await store.bootstrap()
        await wait_indexes(store)
        if paused:
            paused = False
            await _resume_log(store)
        if freeing is not None:
            await freeing
    except BaseException:
        if freeing is not None:  # (a thread cannot be cancelled: it ends on its own)
            with contextlib.suppress(BaseException):
                await asyncio.shield(freeing)
        for task in (pending, schema):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        with contextlib.suppress(Exception):
            await asyncio.shield(_empty_again(store))
        if paused:
            with contextlib.suppress(Exception):
                await asyncio.shield(_resume_log(store))
        raise


async def _config_get(store: FalkorDBStore, name: str) -> str | None:
    """A server setting, or None where CONFIG is not allowed (a managed server)."""
    try:
        reply = await store._command("CONFIG", "GET", name)
    except RedisError:
        return None
    if isinstance(reply, dict):
        value = reply.get(name, reply.get(name.encode()))
    else:
        value = reply[1] if reply and len(reply) > 1 else None
    return value.decode() if isinstance(value, bytes) else value


async def _config_set(store: FalkorDBStore, name: str, value: str) -> None:
    with contextlib.suppress(RedisError):
        await store._command("CONFIG", "SET", name, value)


async def _resume_log(store: FalkorDBStore) -> None:
    """``store.resume_log()``, its failure a `BulkImportError`."""
    try:
        await store.resume_log()
    except StoreError as exc:
        raise BulkImportError(str(exc)) from exc


async def _rewrite_log(store: FalkorDBStore) -> None:
    """``store.rewrite_log_when_idle()``, its failure a `BulkImportError`.

    A rewrite that began before the last ``GRAPH.BULK`` call would not hold it, so
    ours must start after it ends.
    """
    try:
        await store.rewrite_log_when_idle()
    except StoreError as exc:
        raise BulkImportError(str(exc)) from exc


async def _empty_again(store: FalkorDBStore) -> None:
    await store.reset()
    await store.bootstrap()
