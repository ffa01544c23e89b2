"""A graph to bulk-import, as plain tables: what a store's bulk path takes.

An initial load into an empty store does not need MERGE: every node and edge is
known before anything is written. The ingest side builds a :class:`BulkGraph`
(node tables per label, edge tables per type and end labels) and hands it to the
store's bulk path: FalkorDB's ``GRAPH.BULK`` command (:mod:`cpgraph.store.falkordb_bulk`)
or the CSV files of ``neo4j-admin database import full``
(:mod:`cpgraph.store.neo4j_import`).

Values are what the Cypher path would store: strings, integers, floats, booleans
and lists of them; ``None`` means "no such property" (Cypher never stores a null).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cpgraph.errors import StoreError
from cpgraph.store.schema import Label, RelType


class BulkImportError(StoreError):
    """The store's bulk path cannot take this graph, or the store is not empty."""


@dataclass(slots=True)
class NodeTable:
    """Every node of one label.

    Attributes:
        label: the node label.
        columns: property names, in column order.
        rows: one list of values per node, aligned with ``columns`` (``None``: absent);
            a row may carry further values after them, which are ignored (so a caller
            can hand over rows it already holds without copying them).
    """

    label: Label
    columns: tuple[str, ...]
    rows: list[Sequence[Any]] = field(default_factory=list)


@dataclass(slots=True)
class EdgeTable:
    """Every edge of one type between nodes of two labels.

    Attributes:
        type: the relationship type.
        source / target: the labels of its ends (rows point into their node tables).
        columns: property names.
        rows: ``(source row, target row, values)``; the rows are indexes into the
            source and target :class:`NodeTable`'s ``rows``.
    """

    type: RelType
    source: Label
    target: Label
    columns: tuple[str, ...]
    rows: list[tuple[int, int, Sequence[Any]]] = field(default_factory=list)


@dataclass(slots=True)
class BulkGraph:
    """Node and edge tables; a label has at most one node table."""

    nodes: list[NodeTable] = field(default_factory=list)
    edges: list[EdgeTable] = field(default_factory=list)

    def node_table(self, label: Label) -> NodeTable:
        """The node table of ``label``.

        Raises:
            BulkImportError: the graph has no nodes of that label.
        """
        for table in self.nodes:
            if table.label == label:
                return table
        raise BulkImportError(f"the bulk graph has no {label.value} node table")

    def offsets(self) -> dict[Label, int]:
        """Each label's first node as a position in the whole node sequence (tables in order)."""
        out: dict[Label, int] = {}
        at = 0
        for table in self.nodes:
            if table.label in out:
                raise BulkImportError(f"two node tables for label {table.label.value}")
            out[table.label] = at
            at += len(table.rows)
        return out

    @property
    def node_count(self) -> int:
        """Nodes in all tables."""
        return sum(len(t.rows) for t in self.nodes)

    @property
    def edge_count(self) -> int:
        """Edges in all tables."""
        return sum(len(t.rows) for t in self.edges)

    def discard(self) -> None:
        """Empty every table, a table at a time (the rows go once they have been sent)."""
        for table in (*self.nodes, *self.edges):
            table.rows.clear()

    def counts(self) -> Iterator[tuple[str, int]]:
        """``(label or type, count)`` per table, nodes first (for reports)."""
        for table in self.nodes:
            yield table.label.value, len(table.rows)
        for edge in self.edges:
            yield f"{edge.type.value}({edge.source.value}->{edge.target.value})", len(edge.rows)


async def store_is_empty(store: Any) -> bool:
    """True when the store's graph holds no node at all (what a bulk path requires).

    Args:
        store: a started :class:`~cpgraph.store.GraphStore`.
    """
    rows = await store.query("ingest_bulk_store_nodes")
    return not rows or not rows[0]["nodes"]
