"""Streaming readers: CSV rows with their physical line and raw text; FHIR paths.

CSV files are read one record at a time (never whole); each record comes with
the 1-based physical line where it starts (header = line 1) and its raw text
exactly as in the file, which is what quarantine keeps.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpgraph.contract.fhirpath import FhirPath
from cpgraph.ingest.errors import EmptyFileError, FieldTooLargeError, NotCsvError

#: Largest single CSV field accepted (bytes of text). A larger field makes the
#: file unusable: nothing in the contract is that long, and pushing it through
#: the store would stall every other write.
MAX_FIELD_CHARS = 1 << 20


@dataclass(frozen=True, slots=True)
class CsvRecord:
    """One CSV record: where it starts, its fields, and its raw text."""

    line: int
    fields: list[str]
    raw: str


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
            for fields in reader:
                start = line + 1
                line = reader.line_num
                raw = tap.take()
                if not fields:
                    continue  # a blank line is not a record
                yield CsvRecord(start, fields, raw.rstrip("\r\n"))
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


def read_header(path: Path, display: str, max_field: int = MAX_FIELD_CHARS) -> list[str]:
    """Return the trimmed header of a CSV file.

    Raises:
        EmptyFileError: no header row.
        NotCsvError / FieldTooLargeError: as :func:`iter_csv`.
    """
    for record in iter_csv(path, display, max_field):
        return [h.strip() for h in record.fields]
    raise EmptyFileError(f"{display}: the file is empty (no header row)")


__all__ = ["MAX_FIELD_CHARS", "CsvRecord", "FhirPath", "iter_csv", "read_header"]
