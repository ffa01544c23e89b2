"""Bulk initial load: the same load, written through the store's bulk path.

An initial load into an empty store spends most of its database time in MERGE:
looking up, one row at a time, nodes that cannot exist yet. The bulk path runs
the very same load — :func:`cpgraph.ingest.engine.load_extracts`, so the same
checks, validation, normalisation, quarantine and load report — against a
:class:`BulkCollector`: a :class:`~cpgraph.store.GraphStore` that does what each
ingest query would do to the graph, in memory. When every extract has been read,
the collected graph goes to the store in one piece:

- **FalkorDB** (embedded or server): ``GRAPH.BULK`` (:mod:`cpgraph.store.falkordb_bulk`),
  then the indexes and constraints are built once over the loaded graph.
- **Neo4j**: the CSV files and command of ``neo4j-admin database import full``
  (:mod:`cpgraph.store.neo4j_import`); the import runs on the database server
  with the database stopped, then ``cpgraph db init`` creates the schema.

The resulting graph is the one a normal load of the same extracts makes (an
integration test loads both ways and compares every node and edge). Load nodes
are written completed, as a normal load leaves them. Later loads take the normal,
incremental path.

**Empty** means the graph holds no node at all: a fresh data directory, or one
after ``cpgraph db init`` or ``cpgraph db reset --include-audit``. A store with
users or audit entries is not empty (``GRAPH.BULK`` creates the graph key, so
nothing already in it could be kept).

A bulk load that fails writes nothing: the store stays empty, and running the
command again takes the bulk path again.
"""

from __future__ import annotations

import enum
import gc
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpgraph.errors import IngestError
from cpgraph.ingest.ahead import AheadReader
from cpgraph.ingest.engine import ProgressFn, load_extracts
from cpgraph.ingest.report import LoadReport
from cpgraph.ingest.writer import EVENT_COLUMNS, EVENT_FACT_SLOTS, RECORD_COLUMNS
from cpgraph.store import GraphStore, Health, QueryRegistry, Row, StoreStats, WriteSummary
from cpgraph.store.bulk import BulkGraph, BulkImportError, EdgeTable, NodeTable, store_is_empty
from cpgraph.store.schema import Label, RelType


class BulkMode(enum.StrEnum):
    """When ``cpgraph load`` takes the bulk path."""

    AUTO = "auto"  # when the store is empty (FalkorDB); never on Neo4j (needs the server offline)
    ALWAYS = "always"  # refuse a store that is not empty; Neo4j: write the import files
    NEVER = "never"  # always the normal, incremental path


#: Properties of a mention a row carries (RECORD_COLUMNS without the address key).
_RECORD_PROPS = RECORD_COLUMNS[:-1]
_RECORD_WIDTH = len(_RECORD_PROPS)
_ADDRESS_KEY = len(RECORD_COLUMNS) - 1
_R = {name: i for i, name in enumerate(RECORD_COLUMNS)}
_SEEN, _ADDRESS, _POSTCODE, _VALID = (
    _R["updated_at"],
    _R["address"],
    _R["postcode"],
    _R["postcode_valid"],
)
_HASH, _LOAD = _R["row_hash"], _R["load_id"]
_EVENT_PROPS = EVENT_COLUMNS[:11]
_QUARANTINE_PROPS = (
    "key",
    "system",
    "file",
    "line",
    "raw",
    "reason",
    "column",
    "load_id",
    "raw_truncated",
)
_RELATIONSHIP_PROPS = (
    "source_key",
    "relationship",
    "relationship_recorded",
    "lives_with",
    "from_date",
    "to_date",
    "system",
    "load_id",
)


def _set(props: dict[str, Any], name: str, value: Any) -> None:
    """Cypher's ``SET x.name = value``: a null removes the property."""
    if value is None:
        props.pop(name, None)
    else:
        props[name] = value


def _merge_map(props: dict[str, Any], values: dict[str, Any]) -> None:
    """Cypher's ``SET x += map``."""
    for name, value in values.items():
        _set(props, name, value)


def _create(names: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    """Cypher's ``CREATE (x {name: value...})``: nulls are not stored."""
    return {n: v for n, v in zip(names, values, strict=True) if v is not None}


class BulkCollector(GraphStore):
    """A graph store that applies the ingest queries to an in-memory graph.

    It answers exactly the queries a load runs (the ``ingest_*`` writes, the load
    bookkeeping and the look-ups before and after a load) with the effect their
    Cypher files have, in the order the load sends them, so the graph it ends with
    is the one the real store would hold. Any other query is refused.

    A mention is kept as the row the engine built (a list, the cheapest form)
    until something changes it; it becomes a property map then.
    """

    backend = "bulk"

    def __init__(self, registry: QueryRegistry, batch_size: int = 5000) -> None:
        """Start with an empty graph.

        Args:
            registry: the target store's queries (parameters are checked against it).
            batch_size: rows per batch the engine makes.
        """
        self.registry = registry
        self.batch_size = batch_size
        self.round_trips = 0
        self.records: dict[str, Any] = {}  # key -> row (list) or props (dict)
        self.events: dict[str, dict[str, Any]] = {}
        self.addresses: dict[str, dict[str, Any]] = {}
        self.organisations: dict[str, dict[str, Any]] = {}
        self.quarantine: dict[str, dict[str, Any]] = {}
        self.loads: dict[str, dict[str, Any]] = {}
        self.versions: list[dict[str, Any]] = []
        # edges: identity -> properties
        self.at_address: dict[tuple[str, str], list[Any]] = {}  # [first_seen, last_seen, system]
        self.occurred_at: dict[tuple[str, str], str] = {}
        self.enrolled_at: dict[tuple[str, str], str] = {}
        self.held_at: dict[tuple[str, str], str] = {}
        self.event_recorded_by: dict[tuple[str, str], str] = {}
        self.load_recorded_by: dict[tuple[str, str], None] = {}
        self.involved_in: dict[tuple[str, str, str, str], None] = {}
        # (source, target, source key) -> the values of _RELATIONSHIP_PROPS (null: not set)
        self.stated: dict[tuple[str, str, str], list[Any]] = {}
        self.has_version: list[tuple[str, int, str, Any]] = []
        self._extra_record_props: dict[str, None] = {}
        # record key -> its AT_ADDRESS address keys; built when a re-run prunes, dropped
        # whenever an edge is added
        self._addresses_of: dict[str, list[str]] | None = None
        self._writes: dict[str, Callable[[dict[str, Any]], None]] = {
            "ingest_records_upsert": self._records_upsert,
            "ingest_record_facts_upsert": self._record_facts_upsert,
            "ingest_events_upsert": self._events_upsert,
            "ingest_event_addresses_upsert": self._event_addresses_upsert,
            "ingest_record_enrolled_at_upsert": self._enrolled_at_upsert,
            "ingest_record_held_at_upsert": self._held_at_upsert,
            "ingest_event_recorded_by_upsert": self._event_recorded_by_upsert,
            "ingest_involvements_upsert": self._involvements_upsert,
            "ingest_relationships_upsert": self._relationships_upsert,
            "ingest_quarantine_upsert": self._quarantine_upsert,
            "ingest_load_start": self._load_start,
            "ingest_load_finish": self._load_finish,
            "ingest_quarantine_row_keys": self._quarantine_row_keys,
            "ingest_quarantine_delete": self._quarantine_delete,
        }
        self._reads: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
            "ingest_loads_list": self._loads_list,
            "ingest_load_runs": self._load_runs,
            "ingest_quarantine_of_system": self._quarantine_of_system,
            "ingest_quarantine_of_load": self._quarantine_of_load,
            "ingest_record_addresses_prune": self._record_addresses_prune,
            "ingest_event_addresses_prune": self._event_addresses_prune,
            "ingest_addresses_orphans_delete": self._addresses_orphans_delete,
        }

    def discard(self) -> None:
        """Drop everything collected, a map at a time.

        The write and read tables hold bound methods, so a collector is a reference
        cycle: dropping the last name of it frees nothing until the cyclic collector
        runs, and a bulk load pauses that. This frees the maps now and breaks the cycle
        (the write and read tables are among the maps cleared).
        """
        for value in list(vars(self).values()):
            if isinstance(value, dict | list):
                value.clear()

    # -- the GraphStore port ---------------------------------------------------------

    @property
    def location(self) -> str:
        return "memory (bulk load)"

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def query(self, name: str, /, **params: Any) -> list[Row]:
        self.registry.check_params(name, params)
        self.round_trips += 1
        read = self._reads.get(name)
        if read is None:
            raise BulkImportError(f"the bulk load cannot answer query {name!r}")
        return read(params)

    async def execute(self, name: str, /, **params: Any) -> WriteSummary:
        self.registry.check_params(name, params)
        self.round_trips += 1
        write = self._writes.get(name)
        if write is None:
            raise BulkImportError(f"the bulk load cannot run query {name!r}")
        write(params)
        return WriteSummary(rows=len(params.get("rows") or ()))

    async def bootstrap(self) -> list[str]:
        return []

    async def health(self) -> Health:
        return Health(True, self.backend, self.location)

    async def stats(self) -> StoreStats:
        return StoreStats(
            nodes={label.value: len(t.rows) for label, t in self._node_tables().items()},
            edges={},
        )

    async def reset(self) -> None:
        raise BulkImportError("the bulk load's collector cannot be reset")

    # -- nodes -----------------------------------------------------------------------

    def _record(self, key: str) -> dict[str, Any]:
        """A mention's properties as a map (converting a kept row)."""
        entry = self.records[key]
        if isinstance(entry, list):
            entry = _create(_RECORD_PROPS, entry[:_RECORD_WIDTH])
            self.records[key] = entry
        return entry

    def _address(self, key: str, line: Any, postcode: Any, valid: Any) -> None:
        # MERGE (a:Address {key}) ON CREATE SET a.line, a.postcode, a.postcode_valid
        # (`_create`'s nulls-not-stored spelt out: this runs once per address mention, and
        # the generic zip and loop were ~5% of the loader's samples at 100k)
        if key not in self.addresses:
            props = {"key": key}
            if line is not None:
                props["line"] = line
            if postcode is not None:
                props["postcode"] = postcode
            if valid is not None:
                props["postcode_valid"] = valid
            self.addresses[key] = props

    def _organisation(self, key: str, type_: Any, code: Any, name: Any) -> None:
        # MERGE (o:Organisation {key}) ON CREATE SET o.type, o.code
        # SET o.name = coalesce(name, o.name)
        org = self.organisations.get(key)
        if org is None:
            org = self.organisations[key] = _create(("key", "type", "code"), (key, type_, code))
        if name is not None:
            org["name"] = name

    # -- the ingest writes (each mirrors its file in cypher/) ------------------------

    def _records_upsert(self, params: dict[str, Any]) -> None:
        for r in params["rows"]:
            key, addr, seen = r[0], r[_ADDRESS_KEY], r[_SEEN]
            if key not in self.records:
                self.records[key] = r
                if addr is not None:
                    self._address(addr, r[_ADDRESS], r[_POSTCODE], r[_VALID])
                    self.at_address[(key, addr)] = [seen, seen, r[1]]
                    self._addresses_of = None
                continue
            if addr is not None:
                self._address(addr, r[_ADDRESS], r[_POSTCODE], r[_VALID])
                edge = self.at_address.get((key, addr))
                if edge is None:
                    self.at_address[(key, addr)] = [seen, seen, r[1]]
                    self._addresses_of = None
                else:
                    edge[1] = seen
            props = self._record(key)
            old_hash, old_load = props.get("row_hash"), props.get("load_id")
            if old_hash is not None and old_hash == r[_HASH]:
                continue  # a reload of the same row changes nothing
            load_id = r[_LOAD]
            if old_hash is not None and old_load is not None and old_load != load_id:
                self.versions.append(dict(props))
                self.has_version.append((key, len(self.versions) - 1, load_id, seen))
            for i in range(1, _RECORD_WIDTH):
                _set(props, _RECORD_PROPS[i], r[i])

    def _record_facts_upsert(self, params: dict[str, Any]) -> None:
        for key, facts in params["rows"]:
            if key in self.records:
                self._extra_record_props.update(dict.fromkeys(facts))
                _merge_map(self._record(key), facts)

    def _events_upsert(self, params: dict[str, Any]) -> None:
        for r in params["rows"]:
            eid, facts = r[0], r[11]
            event = self.events.get(eid)
            if event is None:
                props = _create(_EVENT_PROPS, r[:11])
                _set(props, "digest", r[13])
                _set(props, "changed_in", r[10])
                for slot in EVENT_FACT_SLOTS:
                    value = facts.get(slot)
                    if value is not None:
                        props[slot] = value
                if r[12] is not False:
                    _merge_map(props, facts)
                self.events[eid] = props
                continue
            if event.get("digest") is None or event["digest"] != r[13]:
                _set(event, "changed_in", r[10])
            for i in range(1, 11):
                _set(event, _EVENT_PROPS[i], r[i])
            _set(event, "digest", r[13])
            _merge_map(event, facts)

    def _event_addresses_upsert(self, params: dict[str, Any]) -> None:
        for addr, line, postcode, valid, eid, _seen, system in params["rows"]:
            self._address(addr, line, postcode, valid)
            if eid in self.events:
                self.occurred_at[(eid, addr)] = system

    def _org_edges(
        self, rows: Iterable[Sequence[Any]], ends: dict[str, Any], edges: dict[Any, str]
    ) -> None:
        for org, type_, code, name, end, system in rows:
            self._organisation(org, type_, code, name)
            if end in ends:
                edges[(end, org)] = system

    def _enrolled_at_upsert(self, params: dict[str, Any]) -> None:
        self._org_edges(params["rows"], self.records, self.enrolled_at)

    def _held_at_upsert(self, params: dict[str, Any]) -> None:
        self._org_edges(params["rows"], self.records, self.held_at)

    def _event_recorded_by_upsert(self, params: dict[str, Any]) -> None:
        self._org_edges(params["rows"], self.events, self.event_recorded_by)

    def _involvements_upsert(self, params: dict[str, Any]) -> None:
        for key, eid, role, system in params["rows"]:
            if key in self.records and eid in self.events:
                edge = (key, eid, role, system)
                if edge not in self.involved_in:  # (ON CREATE: the event changed)
                    event = self.events[eid]
                    _set(event, "changed_in", event.get("load_id"))
                self.involved_in[edge] = None

    def _relationships_upsert(self, params: dict[str, Any]) -> None:
        for r in params["rows"]:
            if r[0] not in self.records or r[1] not in self.records:
                continue
            identity = (r[0], r[1], r[2])
            edge = self.stated.get(identity)
            if edge is None:
                # CREATE with every property: a null one is simply not stored
                self.stated[identity] = r[2:]
            else:
                # SET of every property but the key: a null removes it
                edge[1:] = r[3:]

    def _quarantine_upsert(self, params: dict[str, Any]) -> None:
        for r in params["rows"]:
            row = self.quarantine.setdefault(r[0], {"key": r[0]})
            for name, value in zip(_QUARANTINE_PROPS[1:], r[1:], strict=True):
                _set(row, name, value)

    def _quarantine_row_keys(self, params: dict[str, Any]) -> None:
        for key, entry, row_key in params["rows"]:
            row = self.quarantine.get(key)
            if row is not None:
                _set(row, "entry", entry)
                _set(row, "row_key", row_key)

    def _quarantine_delete(self, params: dict[str, Any]) -> None:
        for key in params["keys"]:
            self.quarantine.pop(key, None)

    def _load_start(self, p: dict[str, Any]) -> None:
        load = self.loads.get(p["load_id"])
        if load is None:
            load = self.loads[p["load_id"]] = {
                "load_id": p["load_id"],
                "started_at": p["started_at"],
                "runs": 0,
            }
        load.update(
            system=p["system"],
            agency=p["agency"],
            organisation=p["organisation"],
            extracted_at=p["extracted_at"],
            status="running",
            last_started_at=p["started_at"],
            runs=load["runs"] + 1,
            owner=p["owner"],
        )
        org = self.organisations.get(p["org_key"])
        if org is None:
            org = self.organisations[p["org_key"]] = {
                "key": p["org_key"],
                "type": p["org_type"],
                "code": p["system"],
            }
        _set(org, "name", p["organisation"])
        self.load_recorded_by[(p["load_id"], p["org_key"])] = None

    def _load_finish(self, p: dict[str, Any]) -> None:
        load = self.loads.get(p["load_id"])
        if load is not None:
            for name in (
                "status",
                "finished_at",
                "files",
                "rows_read",
                "rows_loaded",
                "rows_quarantined",
                "mentions",
            ):
                _set(load, name, p[name])

    # -- the look-ups ----------------------------------------------------------------

    def _loads_list(self, p: dict[str, Any]) -> list[Row]:
        names = ("load_id", "system", "agency", "extracted_at", "status", "started_at")
        rows = [
            {
                **{n: load.get(n) for n in names},
                "finished_at": load.get("finished_at"),
                "files": load.get("files"),
                "runs": load.get("runs"),
                "owner": load.get("owner"),
                **{
                    n: load.get(n)
                    for n in ("rows_read", "rows_loaded", "rows_quarantined", "mentions")
                },
            }
            for load in self.loads.values()
            if p["system"] is None or load.get("system") == p["system"]
        ]
        rows.sort(key=lambda r: r["load_id"])
        rows.sort(key=lambda r: r["extracted_at"] or "", reverse=True)
        return rows[: p["limit"]]

    def _load_runs(self, p: dict[str, Any]) -> list[Row]:
        load = self.loads.get(p["load_id"])
        return [] if load is None else [{"runs": load.get("runs")}]

    def _quarantine_of_system(self, p: dict[str, Any]) -> list[Row]:
        return [
            {"key": q["key"], "load_id": q.get("load_id"), "entry": q.get("entry"),
             "row_key": q.get("row_key")}
            for q in self.quarantine.values()
            if q.get("system") == p["system"]
        ]  # fmt: skip

    def _quarantine_of_load(self, p: dict[str, Any]) -> list[Row]:
        return [
            {"key": q["key"]} for q in self.quarantine.values() if q.get("load_id") == p["load_id"]
        ]

    def _record_addresses_prune(self, p: dict[str, Any]) -> list[Row]:
        index = self._addresses_of
        if index is None:
            index = self._addresses_of = defaultdict(list)
            for key, addr in self.at_address:
                index[key].append(addr)
        seen = p["seen"]
        gone: dict[str, int] = defaultdict(int)
        for key, now in p["rows"]:
            addrs = index.get(key)
            if not addrs:
                continue
            for addr in list(addrs):
                first, last, _system = self.at_address[(key, addr)]
                if first == seen and last == seen and (now is None or addr != now):
                    del self.at_address[(key, addr)]
                    addrs.remove(addr)
                    gone[addr] += 1
        return [{"key": k, "edges": n} for k, n in gone.items()]

    def _event_addresses_prune(self, p: dict[str, Any]) -> list[Row]:
        now = {eid: addr for eid, addr in p["rows"]}
        gone: dict[str, int] = defaultdict(int)
        for eid, addr in list(self.occurred_at):
            if eid in now and (now[eid] is None or addr != now[eid]):
                del self.occurred_at[(eid, addr)]
                gone[addr] += 1
        return [{"key": k, "edges": n} for k, n in gone.items()]

    def _addresses_orphans_delete(self, p: dict[str, Any]) -> list[Row]:
        reached = {addr for _, addr in self.at_address} | {addr for _, addr in self.occurred_at}
        deleted = 0
        for key in p["keys"]:
            if key in self.addresses and key not in reached:
                del self.addresses[key]
                deleted += 1
        return [{"deleted": deleted}]

    # -- the collected graph as tables -----------------------------------------------

    def _node_tables(self) -> dict[Label, NodeTable]:
        extra = tuple(n for n in self._extra_record_props if n not in _RECORD_PROPS)
        record_cols = (*_RECORD_PROPS, *extra)
        records = NodeTable(Label.SOURCE_RECORD, record_cols)
        pad = [None] * len(extra)
        for entry in self.records.values():
            if isinstance(entry, list):
                # the row as the engine built it: its one value past the columns (the
                # address key) is ignored, so it is not copied
                records.rows.append(entry[:_RECORD_WIDTH] + pad if pad else entry)
            else:
                records.rows.append([entry.get(c) for c in record_cols])
        tables = {Label.SOURCE_RECORD: records}
        for label, nodes in (
            (Label.EVENT, self.events),
            (Label.ADDRESS, self.addresses),
            (Label.ORGANISATION, self.organisations),
            (Label.QUARANTINED_ROW, self.quarantine),
            (Label.LOAD, self.loads),
        ):
            tables[label] = _table(label, list(nodes.values()))
        tables[Label.RECORD_VERSION] = _table(Label.RECORD_VERSION, self.versions)
        return tables

    def graph(self) -> BulkGraph:
        """Everything collected, as the node and edge tables a store's bulk path takes."""
        tables = self._node_tables()
        index = {
            Label.SOURCE_RECORD: {k: i for i, k in enumerate(self.records)},
            Label.EVENT: {k: i for i, k in enumerate(self.events)},
            Label.ADDRESS: {k: i for i, k in enumerate(self.addresses)},
            Label.ORGANISATION: {k: i for i, k in enumerate(self.organisations)},
            Label.LOAD: {k: i for i, k in enumerate(self.loads)},
        }
        rec, ev = index[Label.SOURCE_RECORD], index[Label.EVENT]
        addr, org = index[Label.ADDRESS], index[Label.ORGANISATION]
        edges = [
            EdgeTable(
                RelType.AT_ADDRESS,
                Label.SOURCE_RECORD,
                Label.ADDRESS,
                ("first_seen", "last_seen", "system"),
                [(rec[k], addr[a], v) for (k, a), v in self.at_address.items()],
            ),
            _simple(RelType.OCCURRED_AT, Label.EVENT, Label.ADDRESS, self.occurred_at, ev, addr),
            _simple(
                RelType.ENROLLED_AT, Label.SOURCE_RECORD, Label.ORGANISATION, self.enrolled_at,
                rec, org,
            ),
            _simple(
                RelType.HELD_AT, Label.SOURCE_RECORD, Label.ORGANISATION, self.held_at, rec, org
            ),
            _simple(
                RelType.RECORDED_BY, Label.EVENT, Label.ORGANISATION, self.event_recorded_by,
                ev, org,
            ),
            EdgeTable(
                RelType.RECORDED_BY,
                Label.LOAD,
                Label.ORGANISATION,
                (),
                [(index[Label.LOAD][lo], org[o], ()) for lo, o in self.load_recorded_by],
            ),
            EdgeTable(
                RelType.INVOLVED_IN,
                Label.SOURCE_RECORD,
                Label.EVENT,
                ("role", "system"),
                [(rec[k], ev[e], (role, sys)) for k, e, role, sys in self.involved_in],
            ),
            EdgeTable(
                RelType.STATED_RELATIONSHIP,
                Label.SOURCE_RECORD,
                Label.SOURCE_RECORD,
                _RELATIONSHIP_PROPS,
                [(rec[a], rec[b], values) for (a, b, _), values in self.stated.items()],
            ),
            EdgeTable(
                RelType.HAS_VERSION,
                Label.SOURCE_RECORD,
                Label.RECORD_VERSION,
                ("superseded_by", "superseded_at"),
                [(rec[k], i, (by, at)) for k, i, by, at in self.has_version],
            ),
        ]  # fmt: skip
        return BulkGraph(
            nodes=[t for t in tables.values() if t.rows],
            edges=[e for e in edges if e.rows],
        )


def _table(label: Label, nodes: list[dict[str, Any]]) -> NodeTable:
    columns: dict[str, None] = {}
    for props in nodes:
        columns.update(dict.fromkeys(props))
    cols = tuple(columns)
    return NodeTable(label, cols, [list(map(props.get, cols)) for props in nodes])


def _simple(
    rel: RelType,
    source: Label,
    target: Label,
    edges: dict[tuple[str, str], str],
    src_index: dict[str, int],
    dst_index: dict[str, int],
) -> EdgeTable:
    """An edge table whose only property is ``system``."""
    rows = [(src_index[s], dst_index[d], (system,)) for (s, d), system in edges.items()]
    return EdgeTable(rel, source, target, ("system",), rows)


# -- running a bulk load -------------------------------------------------------------


@dataclass(slots=True)
class BulkOutcome:
    """What a bulk load did besides its reports.

    Attributes:
        path: ``falkordb`` (GRAPH.BULK) or ``neo4j-import`` (files written).
        nodes / edges: entities written.
        import_dir / command: Neo4j only: where the CSV files are, and the
            ``neo4j-admin`` command to run on the server.
    """

    path: str
    nodes: int
    edges: int
    import_dir: Path | None = None
    command: list[str] | None = None


async def bulk_applies(store: GraphStore, mode: BulkMode) -> bool:
    """Whether a load in ``mode`` takes the bulk path on this store.

    Raises:
        BulkImportError: ``always`` on a store that is not empty.
    """
    if mode == BulkMode.NEVER:
        return False
    if mode == BulkMode.AUTO and store.backend != "falkordb":
        return False  # neo4j-admin import needs the database stopped: only on request
    empty = await store_is_empty(store)
    if mode == BulkMode.ALWAYS and not empty:
        raise BulkImportError(
            "--bulk always needs an empty store (no node at all, users and audit entries "
            "included); use --bulk auto or never to load incrementally"
        )
    return empty


async def bulk_load_extracts(
    store: GraphStore,
    folders: Iterable[Path | str],
    *,
    progress: ProgressFn | None = None,
    batch_size: int | None = None,
    loaders_dir: Path | None = None,
    allow_older: bool = False,
    import_dir: Path | None = None,
) -> tuple[list[LoadReport], BulkOutcome]:
    """Load extracts into an empty store through its bulk path.

    Every folder is checked first, exactly as :func:`~cpgraph.ingest.load_extracts`
    does; nothing is written unless every extract loads.

    Args:
        store: a started store whose graph holds no node.
        folders: extract folders.
        progress: as for ``load_extracts``; the bulk write reports as system ``bulk``.
        batch_size: rows per batch the engine makes (default: the store's).
        loaders_dir: mapping folder (default: the shipped ``loaders/``).
        allow_older: as for ``load_extracts``.
        import_dir: Neo4j only: where to write the import files (created, 0700).

    Returns:
        The load reports, in load order, and what the bulk write did.

    Raises:
        IngestError: an extract is unusable (nothing written).
        BulkImportError: the store is not empty or its bulk path failed (nothing
            is left written).
    """
    if not await store_is_empty(store):
        raise BulkImportError("the bulk path needs an empty store, and this one holds nodes")
    # Millions of long-lived rows make every full collection walk them all, again and
    # again as they grow (a fifth of the CPU at 100k mentions); nothing here makes
    # cycles that need it, so the collector pauses until the load is written.
    paused = gc.isenabled()
    gc.disable()
    try:
        return await _bulk_load(
            store, folders, progress, batch_size, loaders_dir, allow_older, import_dir
        )
    finally:
        if paused:
            gc.enable()


async def _bulk_load(
    store: GraphStore,
    folders: Iterable[Path | str],
    progress: ProgressFn | None,
    batch_size: int | None,
    loaders_dir: Path | None,
    allow_older: bool,
    import_dir: Path | None,
) -> tuple[list[LoadReport], BulkOutcome]:
    collector = BulkCollector(store.registry, batch_size or store.batch_size)
    reports = await load_extracts(
        collector,
        folders,
        progress=progress,
        batch_size=batch_size,
        loaders_dir=loaders_dir,
        allow_older=allow_older,
        ahead=AheadReader,  # extracts read ahead: CSV ones in processes, FHIR in a thread
    )
    failed = [r.load_id for r in reports if r.status != "completed"]
    if failed:  # pragma: no cover - load_extracts raises before this
        raise IngestError(f"bulk load: {len(failed)} extract(s) did not complete")
    graph = collector.graph()
    nodes, edges = graph.node_count, graph.edge_count

    def release() -> None:
        collector.discard()
        graph.discard()

    if store.backend == "falkordb":
        from cpgraph.store.falkordb_bulk import bulk_insert  # noqa: PLC0415

        # the collector's maps and the tables are freed while the server builds the
        # indexes (millions of objects: ~10 s at 1M mentions), not after it
        await bulk_insert(store, graph, progress=progress, release=release)  # type: ignore[arg-type]
        return reports, BulkOutcome("falkordb", nodes, edges)
    if store.backend == "neo4j":
        from cpgraph.store.neo4j_import import write_import  # noqa: PLC0415

        if import_dir is None:
            raise BulkImportError("a Neo4j bulk load needs a folder for its import files")
        command = write_import(graph, import_dir, database=store.settings.neo4j_database)  # type: ignore[attr-defined]
        release()
        return reports, BulkOutcome("neo4j-import", nodes, edges, import_dir, command)
    raise BulkImportError(f"the {store.backend} store has no bulk path")
