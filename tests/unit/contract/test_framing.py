"""Where a file ends inside a record (`cpgraph.contract.framing`), and the row keys
that make two rows of one file duplicates (`cpgraph.ingest.mapping.row_key_reader`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpgraph.contract.framing import json_cut_short, open_quote, record_cut_short
from cpgraph.ingest.mapping import load_mappings, row_key_reader
from cpgraph.ingest.readers import iter_csv, scan_csv


@pytest.mark.parametrize(
    ("raw", "cut"),
    [
        ("N1,Ann,Smith\n", False),
        ("N1,Ann,Smith\r\n", False),
        ("N1,Ann,Smith\r", False),
        ('N1,"Flat 10, 69 Market Street",B1\n', False),
        ('N1,"a ""quoted"" word",B1\n', False),
        ('N1,"two\nlines",B1\n', False),
        ('N1,ab"c,B1\n', False),  # a quote inside an unquoted field is just a character
        ("N1,Ann,Sm", True),
        ('N1,"Flat 10, 69 M', True),
        ('N1,"Flat 10, 69 M\n', True),
        ('N1,"Flat ""10""\n', True),
    ],
)
def test_a_record_is_cut_short_without_a_line_end_or_with_an_open_quote(
    raw: str, cut: bool
) -> None:
    assert record_cut_short(raw) is cut


def test_open_quote_follows_the_csv_module() -> None:
    assert open_quote('"a","b') is True
    assert open_quote('"a","b"""') is False


@pytest.mark.parametrize(
    ("data", "cut"),
    [
        (b'{"resourceType": "Bundle", "entry": [', True),
        (b'{"resourceType": "Bundle", "entry": [{"resource": {"id": "p', True),
        (b'{"resourceType": "Bundle"}', False),
        (b'{"resourceType": "Bundle"} trailing', False),
        (b"not json at all", False),
    ],
)
def test_json_cut_short(data: bytes, cut: bool) -> None:
    assert json_cut_short(data) is cut


def test_only_the_last_data_row_can_be_truncated(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text('nominal_id,address\nN1,"a\nb"\nN2,"Flat 10, 69 M', encoding="utf-8")
    records = list(iter_csv(path, "n.csv"))
    assert [(r.line, r.truncated) for r in records] == [(1, False), (2, False), (4, True)]
    assert records[-1].raw == 'N2,"Flat 10, 69 M'
    scan = scan_csv(path, "n.csv")
    assert (scan.rows, scan.truncated_line) == (2, 4)


def _entry(agency: str, name: str):
    mapping = next(m for m in load_mappings() if m.agency == agency and m.default)
    return mapping.entry(name)


def test_row_keys_are_read_as_the_loader_reads_values(tmp_path: Path) -> None:
    exclusions = _entry("education", "exclusions.csv")
    header = ["upn", "start_date", "category", "sessions", "reason"]
    key = row_key_reader(exclusions, header)
    assert key is not None
    one = key([" a123 ", "02/03/2020", "suspension", "", ""])
    assert one == key(["A123", "2020-03-02", "suspension", "2", "other"])
    assert one != key(["A123", "2020-03-02", "permanent", "", ""])
    assert key(["", "2020-03-02", "suspension", "", ""]) is None  # no key: not a duplicate


def test_visits_are_keyed_by_visit_and_visitor_and_links_have_no_key() -> None:
    visits = _entry("prisons", "visits.csv")
    header = list(visits.columns)
    key = row_key_reader(visits, header)
    assert key is not None
    row = dict.fromkeys(header, "")
    same_visit = [{**row, "visit_id": "V1", "visitor_id": v} for v in ("R1", "R2")]
    assert len({key([r[c] for c in header]) for r in same_visit}) == 2
    assert row_key_reader(_entry("police", "involvements.csv"), ["occurrence_id"]) is None


def test_a_key_twice_is_found_by_the_scan(tmp_path: Path) -> None:
    path = tmp_path / "nominals.csv"
    path.write_text("nominal_id,forename\nN1,a\nN2,b\n N1 ,c\n", encoding="utf-8")
    entry = _entry("police", "nominals.csv")
    scan = scan_csv(path, "nominals.csv", row_key_reader(entry, ["nominal_id", "forename"]))
    assert scan.duplicates == frozenset({"N1"})
