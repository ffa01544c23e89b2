"""Streaming readers: CSV rows with their physical line and raw text; FHIR paths.

CSV files are read one record at a time (never whole); each record comes with
the 1-based physical line where it starts (header = line 1) and its raw text
exactly as in the file, which is what quarantine keeps.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# -- FHIR paths -----------------------------------------------------------------------

_SEGMENT_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\]]*\])*)\.?")
_BRACKET_RE = re.compile(r"\[([^\]]*)\]")


@dataclass(frozen=True, slots=True)
class FhirPath:
    """A compiled path into a FHIR resource (syntax in ``loaders/health.toml``)."""

    steps: tuple[tuple[str, tuple[str, ...]], ...]
    ops: tuple[tuple[str, str], ...]

    @classmethod
    def compile(cls, text: str) -> FhirPath:
        """Parse a path such as ``identifier[system=https://x].value|join:, ``."""
        path, *ops = text.split("|")
        steps = []
        pos = 0
        while pos < len(path):
            m = _SEGMENT_RE.match(path, pos)
            if not m or m.end() == pos:
                raise ValueError(f"bad FHIR path {text!r}")
            steps.append((m.group(1), tuple(_BRACKET_RE.findall(m.group(2)))))
            pos = m.end()
        parsed_ops = []
        for op in ops:
            name, _, arg = op.partition(":")
            if name not in ("join", "ref"):
                raise ValueError(f"bad FHIR path operation {op!r}")
            parsed_ops.append((name, arg))
        return cls(tuple(steps), tuple(parsed_ops))

    def get(self, resource: Any) -> str | None:
        """Evaluate against a resource (a dict); return a string or ``None``."""
        value = _walk(resource, self.steps)
        for name, arg in self.ops:
            if name == "ref":
                value = _ref(value, arg)
            elif name == "join" and isinstance(value, list):
                value = (arg or " ").join(str(v) for v in value if isinstance(v, (str, int)))
        if isinstance(value, list):
            value = " ".join(str(v) for v in value if isinstance(v, (str, int, float)))
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        if not isinstance(value, str):
            return None
        # The store cannot carry NUL; JSON may (as \\u0000).
        value = value.replace("\x00", "\ufffd")
        return value if value.strip() else None


def _walk(value: Any, steps: tuple[tuple[str, tuple[str, ...]], ...]) -> Any:
    if not steps:
        return value
    (name, brackets), rest = steps[0], steps[1:]
    value = value.get(name) if isinstance(value, dict) else None
    return _index(value, brackets, rest)


def _index(value: Any, brackets: tuple[str, ...], rest: tuple[Any, ...]) -> Any:
    for j, br in enumerate(brackets):
        if not isinstance(value, list):
            return None
        if br == "*":
            out: list[Any] = []
            for item in value:
                got = _index(item, brackets[j + 1 :], rest)
                if isinstance(got, list):
                    out.extend(got)
                elif got is not None:
                    out.append(got)
            return out
        if "=" in br:
            key, _, want = br.partition("=")
            value = next((v for v in value if isinstance(v, dict) and v.get(key) == want), None)
        elif ":" in br:
            lo, _, hi = br.partition(":")
            value = value[int(lo or 0) : int(hi) if hi else None]
        else:
            idx = int(br)
            value = value[idx] if -len(value) <= idx < len(value) else None
    return _walk(value, rest)


def _ref(value: Any, rtype: str) -> str | None:
    """Take ``{id}`` out of ``{rtype}/{id}`` (from a list: the first that matches)."""
    prefix = f"{rtype}/"
    candidates = value if isinstance(value, list) else [value]
    for v in candidates:
        if isinstance(v, str) and v.startswith(prefix) and len(v) > len(prefix):
            return v[len(prefix) :]
    for v in candidates:
        if isinstance(v, str) and v.strip():
            # A reference to something else: keep it recognisably unresolvable.
            return f"?{v}"
    return None
