"""Streaming readers: CSV rows with their physical line and raw text; FHIR paths.

CSV files are read one record at a time (never whole); each record comes with
the 1-based physical line where it starts (header = line 1) and its raw text
exactly as in the file, which is what quarantine keeps. The last record is
marked ``truncated`` when the file ends inside it (no line end, or an open
quote): a half-written file's last row must not load as if it were whole.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpgraph.contract.fhirpath import FhirPath
from cpgraph.contract.framing import json_cut_short, open_quote, record_cut_short
from cpgraph.ingest.errors import EmptyFileError, FieldTooLargeError, NotCsvError

#: Largest single CSV field accepted (bytes of text). A larger field makes the
#: file unusable: nothing in the contract is that long, and pushing it through
#: the store would stall every other write.
MAX_FIELD_CHARS = 1 << 20


@dataclass(frozen=True, slots=True)
class CsvRecord:
    """One CSV record: where it starts, its fields, and its raw text.

    ``truncated`` is set on the file's last data record when the file ends
    inside it: no line end after it, or a quoted field never closed.
    """

    line: int
    fields: list[str]
    raw: str
    truncated: bool = False


class _LineTap:
    """Iterate a text file's lines for `csv.reader` while remembering what was read."""

    __slots__ = ("_lines", "_source")

    def __init__(self, source: Any) -> None:
        self._source = source
        self._lines: list[str] = []

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = next(self._source)
        if "\x00" in line:
            # NUL never occurs in text; the store cannot take it either.
            raise NotCsvError("contains NUL bytes (binary content)")
        self._lines.append(line)
        return line

    def take(self) -> str:
        raw = "".join(self._lines)
        self._lines.clear()
        return raw


def iter_csv(path: Path, display: str, max_field: int = MAX_FIELD_CHARS) -> Iterator[CsvRecord]:
    """Yield every record of a CSV file, header first, skipping blank lines.

    Args:
        path: the file.
        display: how to name the file in error messages (relative path).
        max_field: the largest field accepted, in characters.

    Raises:
        NotCsvError: the file is not UTF-8 text or its quoting is broken.
        FieldTooLargeError: a field is larger than ``max_field``.
    """
    # The limit is process-wide in the csv module; set it to ours for each read.
    csv.field_size_limit(max_field)
    line = 0
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            tap = _LineTap(fh)
            reader = csv.reader(tap, strict=False)
            # One record is held back: only at the end of the file is it known to be the last.
            held: tuple[int, list[str], str] | None = None
            header = True
            for fields in reader:
                start = line + 1
                line = reader.line_num
                raw = tap.take()
                if not fields:
                    continue  # a blank line is not a record
                if held is not None:
                    yield CsvRecord(held[0], held[1], held[2].rstrip("\r\n"))
                    header = False
                held = (start, fields, raw)
            if held is not None:
                # The header is never a data row: a header-only file without a line end is whole.
                cut = not header and record_cut_short(held[2])
                yield CsvRecord(held[0], held[1], held[2].rstrip("\r\n"), cut)
    except UnicodeDecodeError as exc:
        raise NotCsvError(f"{display}: not UTF-8 text (near line {line + 1})") from exc
    except NotCsvError as exc:
        raise NotCsvError(f"{display}: {exc} (near line {line + 1})") from exc
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise FieldTooLargeError(
                f"{display}: a field near line {line + 1} is larger than the "
                f"{max_field // 1024} KiB limit"
            ) from exc
        raise NotCsvError(f"{display}: not valid CSV near line {line + 1}") from exc


@dataclass(slots=True)
class CsvScan:
    """What a full structural scan of a CSV file found.

    Attributes:
        rows: data records (header excluded), the truncated last one included.
        duplicates: row keys found on more than one record.
        truncated_line: the line of a truncated last record, else 0.
    """

    rows: int = 0
    duplicates: frozenset[str] = field(default_factory=frozenset)
    truncated_line: int = 0


def scan_csv(
    path: Path,
    display: str,
    key_of: Callable[[list[str]], str | None] | None = None,
    max_field: int = MAX_FIELD_CHARS,
) -> CsvScan:
    """Read a CSV file once, completely: count its data records and find repeated keys.

    Args:
        path: the file.
        display: how to name the file in error messages.
        key_of: a record's key from its fields (None: keys are not checked).
        max_field: the largest field accepted, in characters.

    Raises:
        NotCsvError / FieldTooLargeError: as :func:`iter_csv`.
    """
    scan = CsvScan()
    seen: set[str] = set()
    repeated: set[str] = set()
    records = iter_csv(path, display, max_field)
    next(records, None)  # the header
    for rec in records:
        scan.rows += 1
        if rec.truncated:
            scan.truncated_line = rec.line
        elif key_of is not None and (key := key_of(rec.fields)) is not None:
            if key in seen:
                repeated.add(key)
            else:
                seen.add(key)
    scan.duplicates = frozenset(repeated)
    return scan


def read_header(path: Path, display: str, max_field: int = MAX_FIELD_CHARS) -> list[str]:
    """Return the trimmed header of a CSV file.

    Raises:
        EmptyFileError: no header row.
        NotCsvError / FieldTooLargeError: as :func:`iter_csv`.
    """
    for record in iter_csv(path, display, max_field):
        return [h.strip() for h in record.fields]
    raise EmptyFileError(f"{display}: the file is empty (no header row)")


__all__ = [
    "MAX_FIELD_CHARS",
    "CsvRecord",
    "CsvScan",
    "FhirPath",
    "iter_csv",
    "json_cut_short",
    "open_quote",
    "read_header",
    "scan_csv",
]
