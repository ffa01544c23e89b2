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


def test_tokens_carry_header_counts_and_global_node_ids() -> None:
    graph = _graph()
    nodes = list(node_tokens(graph))
    assert [n for _, n in nodes] == [2, 1]
    first = nodes[0][0]
    assert b"ignored" not in first
    assert first.startswith(b"SourceRecord\x00" + struct.pack("=I", 5) + b"key\x00surname\x00")
    edges = list(edge_tokens(graph))
    token = edges[0][0]
    head = b"AT_ADDRESS\x00" + struct.pack("=I", 2) + b"first_seen\x00system\x00"
    assert token.startswith(head)
    # the address is node 2: after the two records, in table order
    assert token[len(head) : len(head) + 16] == struct.pack("=QQ", 1, 2)


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
