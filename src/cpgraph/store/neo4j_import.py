"""Neo4j's bulk path: a :class:`~cpgraph.store.bulk.BulkGraph` as ``neo4j-admin`` import files.

``neo4j-admin database import full`` builds a database from CSV files far faster
than any transaction can, but only offline: on the database server, with the
target database stopped (or not yet created). So cpgraph writes the files and the
command; an operator copies the folder to the server's import directory and runs
it, starts the database, then runs ``cpgraph db init`` (constraints and indexes).

The files follow the import tool's header format:

- one node file per label, ``<Label>.csv``: an ``:ID(<Label>)`` column (the node's
  row number: each label is its own id space), a ``:LABEL`` column, then one column
  per property, typed ``name:int`` / ``name:boolean`` / ``name:float`` /
  ``name:string[]`` ... (untyped means string);
- one relationship file per type and end labels, ``<TYPE>__<Source>__<Target>.csv``:
  ``:START_ID(<Source>)``, ``:END_ID(<Target>)``, ``:TYPE``, then properties.

An absent property is an empty, unquoted field (the tool stores nothing); every
other value is quoted, so an empty string stays an empty string. Array elements are
joined with a delimiter that occurs in no element (the command names it), and
fields may hold line breaks (``--multiline-fields=true``).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from cpgraph.store.bulk import BulkGraph, BulkImportError

#: Array delimiters tried in order: the first that no array element contains is used.
ARRAY_DELIMITERS: tuple[str, ...] = (";", "|", "^", "~", "\u00a6")

_SCALAR_TYPES = {str: "string", int: "long", float: "double", bool: "boolean"}


def _value_type(value: Any) -> str:
    kind = type(value)
    if kind in _SCALAR_TYPES:
        return _SCALAR_TYPES[kind]
    if kind is list or kind is tuple:
        inner = {_value_type(v) for v in value}
        if len(inner) > 1 or any(t.endswith("[]") for t in inner):
            raise BulkImportError("an array property mixes types: Neo4j import cannot hold it")
        return f"{inner.pop() if inner else 'string'}[]"
    raise BulkImportError(f"a property of type {kind.__name__} cannot be imported into Neo4j")


def column_types(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """Each column's import type, from its values (a column never set is a string).

    Raises:
        BulkImportError: a column holds values of two types (named, never a value).
    """
    found: list[set[str]] = [set() for _ in columns]
    for row in rows:
        for i, value in enumerate(row):
            if value is not None:
                found[i].add(_value_type(value))
    types = []
    for name, kinds in zip(columns, found, strict=True):
        if len(kinds) > 1:
            # an empty array has no element type of its own: the other one wins
            kinds = {k for k in kinds if k != "string[]"} or kinds
        if len(kinds) > 1:
            raise BulkImportError(
                f"property {name!r} holds values of types {sorted(kinds)}: Neo4j import "
                "needs one type per column"
            )
        types.append(kinds.pop() if kinds else "string")
    return types


def _values(rows: Iterable[Sequence[Any]], width: int) -> Iterator[Sequence[Any]]:
    """Node rows cut to their columns (a row may carry more values: see NodeTable)."""
    for row in rows:
        yield row[:width]


def _array_delimiter(graph: BulkGraph) -> str:
    used: set[str] = set()
    tables: list[Iterable[Sequence[Any]]] = [_values(t.rows, len(t.columns)) for t in graph.nodes]
    tables += [(values for _, _, values in e.rows) for e in graph.edges]
    for rows in tables:
        for row in rows:
            for value in row:
                if isinstance(value, (list, tuple)):
                    for item in value:
                        used.update(c for c in ARRAY_DELIMITERS if c in str(item))
    for delimiter in ARRAY_DELIMITERS:
        if delimiter not in used:
            return delimiter
    raise BulkImportError("every array delimiter occurs in some array element")


def _header_name(name: str, kind: str) -> str:
    return name if kind == "string" else f"{name}:{kind}"


def _cell(value: Any, delimiter: str) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return delimiter.join(_cell(v, delimiter) for v in value)
    if isinstance(value, float):
        return repr(value)
    return value if isinstance(value, str) else str(value)


def _open(path: Path) -> Any:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return open(fd, "w", encoding="utf-8", newline="")  # noqa: SIM115 — closed by the caller


def write_import(graph: BulkGraph, folder: Path, *, database: str = "neo4j") -> list[str]:
    """Write ``graph`` as ``neo4j-admin database import full`` files into ``folder``.

    Args:
        graph: the nodes and edges.
        folder: where to write (created 0700; files 0600, existing ones replaced).
        database: the database the command imports into.

    Returns:
        The command to run on the Neo4j server (as an argument list), with file
        names relative to ``folder`` (run it from there, or from the server's
        import directory after copying the files).

    Raises:
        BulkImportError: a value the import format cannot carry.
    """
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    delimiter = _array_delimiter(graph)
    command = [
        "neo4j-admin",
        "database",
        "import",
        "full",
        database,
        "--overwrite-destination=true",
        "--id-type=integer",
        "--multiline-fields=true",
        f"--array-delimiter={delimiter}",
    ]
    for table in graph.nodes:
        name = f"{table.label.value}.csv"
        width = len(table.columns)
        types = column_types(table.columns, _values(table.rows, width))
        with _open(folder / name) as fh:
            out = csv.writer(fh, quoting=csv.QUOTE_NOTNULL)
            out.writerow(
                [f":ID({table.label.value})", ":LABEL"]
                + [_header_name(c, t) for c, t in zip(table.columns, types, strict=True)]
            )
            label = table.label.value
            for i, row in enumerate(table.rows):
                out.writerow([i, label, *(_cell(v, delimiter) for v in row[:width])])
        command.append(f"--nodes={name}")
    for edge in graph.edges:
        name = f"{edge.type.value}__{edge.source.value}__{edge.target.value}.csv"
        types = column_types(edge.columns, (values for _, _, values in edge.rows))
        with _open(folder / name) as fh:
            out = csv.writer(fh, quoting=csv.QUOTE_NOTNULL)
            out.writerow(
                [f":START_ID({edge.source.value})", f":END_ID({edge.target.value})", ":TYPE"]
                + [_header_name(c, t) for c, t in zip(edge.columns, types, strict=True)]
            )
            rel = edge.type.value
            for src, dst, values in edge.rows:
                out.writerow([src, dst, rel, *(_cell(v, delimiter) for v in values)])
        command.append(f"--relationships={name}")
    return command
