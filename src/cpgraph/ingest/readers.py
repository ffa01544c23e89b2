"""Streaming readers: CSV rows with their physical line and raw text; FHIR paths.

CSV files are read one record at a time (never whole); each record comes with
the 1-based physical line where it starts (header = line 1) and its raw text
exactly as in the file, which is what quarantine keeps.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
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


# Instructions of a compiled path (see FhirPath.program).
_KEY, _INDEX, _SLICE, _MATCH, _EACH = range(5)


def _lower(steps: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[tuple[Any, ...], ...]:
    """Turn parsed steps into a flat list of instructions (raises ValueError on a bad bracket)."""
    program: list[tuple[Any, ...]] = []
    for name, brackets in steps:
        program.append((_KEY, name))
        for br in brackets:
            if br == "*":
                program.append((_EACH,))
            elif "=" in br:
                key, _, want = br.partition("=")
                program.append((_MATCH, key, want))
            elif ":" in br:
                lo, _, hi = br.partition(":")
                program.append((_SLICE, int(lo or 0), int(hi) if hi else None))
            else:
                program.append((_INDEX, int(br)))
    return tuple(program)


@dataclass(frozen=True, slots=True)
class FhirPath:
    """A compiled path into a FHIR resource (syntax in ``loaders/health.toml``).

    Attributes:
        steps: ``(element name, its brackets)`` per dotted segment.
        ops: the ``|name:arg`` operations applied to the result.
        program: ``steps`` as flat instructions, which :meth:`get` runs (derived).
    """

    steps: tuple[tuple[str, tuple[str, ...]], ...]
    ops: tuple[tuple[str, str], ...]
    program: tuple[tuple[Any, ...], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        """Derive the instructions from the steps."""
        try:
            program = _lower(self.steps)
        except ValueError as exc:
            raise ValueError(f"bad FHIR path bracket in {self.steps!r}") from exc
        object.__setattr__(self, "program", program)

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
        value = _run(resource, self.program, 0)
        if type(value) is str and not self.ops:  # the common case, checked first
            if "\x00" in value:
                value = value.replace("\x00", "\ufffd")
            return value if value.strip() else None
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
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
        return value if value.strip() else None


def _run(value: Any, program: tuple[tuple[Any, ...], ...], start: int) -> Any:
    """Run a path's instructions from ``start`` on ``value``.

    An element name on a non-object gives nothing; a bracket on a non-list
    ends the walk with nothing; ``[*]`` runs the rest on every item and
    flattens what they give (nothing is left out).
    """
    for k in range(start, len(program)):
        ins = program[k]
        op = ins[0]
        if op == _KEY:
            value = value.get(ins[1]) if isinstance(value, dict) else None
            continue
        if not isinstance(value, list):
            return None
        if op == _INDEX:
            idx = ins[1]
            value = value[idx] if -len(value) <= idx < len(value) else None
        elif op == _MATCH:
            key, want = ins[1], ins[2]
            value = next((v for v in value if isinstance(v, dict) and v.get(key) == want), None)
        elif op == _SLICE:
            value = value[ins[1] : ins[2]]
        else:  # _EACH
            out: list[Any] = []
            for item in value:
                got = _run(item, program, k + 1)
                if isinstance(got, list):
                    out.extend(got)
                elif got is not None:
                    out.append(got)
            return out
    return value


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
