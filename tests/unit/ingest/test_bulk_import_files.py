"""The bulk path's encodings: GRAPH.BULK binary values and neo4j-admin import files."""

from __future__ import annotations

import csv
import stat
import struct
from pathlib import Path

import pytest

from cpgraph.store.bulk import BulkGraph, BulkImportError, EdgeTable, NodeTable
from cpgraph.store.falkordb_bulk import edge_tokens, encode_value, node_tokens
from cpgraph.store.neo4j_import import column_types, write_import
from cpgraph.store.schema import Label, RelType


def _graph() -> BulkGraph:
    records = NodeTable(
        Label.SOURCE_RECORD,
        ("key", "surname", "aliases", "nhs_number_valid", "line"),
        [
            # a row may carry values past its columns (the engine's address key): ignored
            ["s:1", "Lee", ["Ann; Lee", "A Lee"], True, 3, "ignored|key"],
            ["s:2", "", None, False, None],
        ],
    )
    addresses = NodeTable(Label.ADDRESS, ("key", "line"), [["B1 1AA|1 high st", "1 High St,\nB1"]])
    at = EdgeTable(
        RelType.AT_ADDRESS,
        Label.SOURCE_RECORD,
        Label.ADDRESS,
        ("first_seen", "system"),
        [(1, 0, ("2026-11-01T02:00:00Z", "wmp"))],
    )
    return BulkGraph(nodes=[records, addresses], edges=[at])


def test_values_encode_as_the_bulk_loader_does() -> None:
    assert encode_value(None) == b"\x00"
    assert encode_value(True) == b"\x01\x01"
    assert encode_value(False) == b"\x01\x00"
    assert encode_value(7) == struct.pack("=Bq", 4, 7)
    assert encode_value(0.5) == struct.pack("=Bd", 2, 0.5)
    assert encode_value("Zoë") == b"\x03" + "Zoë".encode() + b"\x00"
    assert encode_value(["a", 1]) == struct.pack("=Bq", 5, 2) + b"\x03a\x00" + struct.pack(
        "=Bq", 4, 1
    )
    with pytest.raises(BulkImportError, match="NUL"):
        encode_value("a\x00b")
    with pytest.raises(BulkImportError, match="64 bits"):
        encode_value(1 << 70)
    with pytest.raises(BulkImportError, match="dict"):
        encode_value({"a": 1})


def _header(name: str, *columns: str) -> bytes:
    return (
        name.encode()
        + b"\x00"
        + struct.pack("=I", len(columns))
        + b"".join(c.encode() + b"\x00" for c in columns)
    )


def test_tokens_carry_header_counts_and_global_node_ids() -> None:
    graph = _graph()
    positions: dict[Label, list[int]] = {}
    nodes = list(node_tokens(graph, positions))
    # one token per shape of row: only the columns it has values for, strings first,
    # then booleans, then other types
    assert [n for _, n in nodes] == [1, 1, 1]
    first = nodes[0][0]
    assert b"ignored" not in first
    head = _header("SourceRecord", "key", "surname", "nhs_number_valid", "aliases", "line")
    assert first == head + b"\x03s:1\x00\x03Lee\x00" + b"\x01\x01" + encode_value(
        ["Ann; Lee", "A Lee"]
    ) + encode_value(3)
    second = nodes[1][0]
    assert second == _header("SourceRecord", "key", "surname", "nhs_number_valid") + (
        b"\x03s:2\x00\x03\x00\x01\x00"  # the empty string is kept, the nulls left out
    )
    assert positions[Label.SOURCE_RECORD] == [0, 1]
    edges = list(edge_tokens(graph, positions))
    token = edges[0][0]
    head = _header("AT_ADDRESS", "first_seen", "system")
    assert token.startswith(head)
    # the address is node 2: after the two records, in table order
    assert token[len(head) : len(head) + 16] == struct.pack("=QQ", 1, 2)


def test_rows_are_sent_grouped_by_shape_and_edges_follow_them() -> None:
    records = NodeTable(
        Label.SOURCE_RECORD,
        ("key", "surname"),
        [["s:1", "Lee"], ["s:2", None], ["s:3", "Ng"], ["s:4", None]],
    )
    at = EdgeTable(
        RelType.STATED_RELATIONSHIP,
        Label.SOURCE_RECORD,
        Label.SOURCE_RECORD,
        ("system",),
        [(1, 2, ("wmp",)), (3, 0, ("wmp",))],
    )
    graph = BulkGraph(nodes=[records], edges=[at])
    positions: dict[Label, list[int]] = {}
    nodes = list(node_tokens(graph, positions))
    assert [n for _, n in nodes] == [2, 2]
    assert nodes[0][0].endswith(b"s:1\x00\x03Lee\x00\x03s:3\x00\x03Ng\x00")
    assert nodes[1][0].endswith(b"s:2\x00\x03s:4\x00")
    assert positions[Label.SOURCE_RECORD] == [0, 2, 1, 3]
    token = next(edge_tokens(graph, positions))[0]
    ends = token[len(_header("STATED_RELATIONSHIP", "system")) :]
    # s:2 -> s:3 is node 2 -> node 1; s:4 -> s:1 is node 3 -> node 0
    assert ends.startswith(struct.pack("=QQ", 2, 1))
    assert struct.pack("=QQ", 3, 0) in ends


def test_a_nul_in_a_string_is_refused_on_the_fast_path() -> None:
    records = NodeTable(Label.SOURCE_RECORD, ("key", "surname"), [["s:1", "Le\x00e"]])
    with pytest.raises(BulkImportError, match="NUL"):
        list(node_tokens(BulkGraph(nodes=[records])))


def test_an_edge_to_no_node_is_refused() -> None:
    graph = _graph()
    graph.edges[0].rows.append((5, 0, ("x", "y")))
    with pytest.raises(BulkImportError, match="points at no node"):
        list(edge_tokens(graph))


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_neo4j_import_files_and_command(tmp_path: Path) -> None:
    folder = tmp_path / "import"
    command = write_import(_graph(), folder, database="cp")
    assert command[:5] == ["neo4j-admin", "database", "import", "full", "cp"]
    assert "--multiline-fields=true" in command and "--id-type=integer" in command
    # ';' occurs in an alias, so another delimiter is chosen
    assert "--array-delimiter=|" in command
    assert "--nodes=SourceRecord.csv" in command
    assert "--relationships=AT_ADDRESS__SourceRecord__Address.csv" in command
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    records = _read(folder / "SourceRecord.csv")
    assert records[0] == [
        ":ID(SourceRecord)",
        ":LABEL",
        "key",
        "surname",
        "aliases:string[]",
        "nhs_number_valid:boolean",
        "line:long",
    ]
    assert records[1] == ["0", "SourceRecord", "s:1", "Lee", "Ann; Lee|A Lee", "true", "3"]
    assert "ignored" not in (folder / "SourceRecord.csv").read_text(encoding="utf-8")
    assert records[2] == ["1", "SourceRecord", "s:2", "", "", "false", ""]
    raw = (folder / "SourceRecord.csv").read_text(encoding="utf-8").splitlines()
    # an empty string is quoted (kept); an absent property is a bare empty field
    assert raw[2] == '"1","SourceRecord","s:2","",,"false",'
    assert _read(folder / "Address.csv")[1][3] == "1 High St,\nB1"
    edges = _read(folder / "AT_ADDRESS__SourceRecord__Address.csv")
    assert edges[0] == [":START_ID(SourceRecord)", ":END_ID(Address)", ":TYPE", "first_seen",
                        "system"]  # fmt: skip
    assert edges[1] == ["1", "0", "AT_ADDRESS", "2026-11-01T02:00:00Z", "wmp"]
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_column_of_two_types_is_refused_by_name() -> None:
    with pytest.raises(BulkImportError, match="'sessions'") as err:
        column_types(("sessions",), [[1], ["12 of 20"]])
    assert "12 of 20" not in str(err.value)
    assert column_types(("a", "b"), [[None, []], [None, ["x"]]]) == ["string", "string[]"]
