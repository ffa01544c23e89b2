"""Streaming writers for extracts: CSV with physical line tracking, FHIR bundles, corruption.

Rows are written as they are generated; only the current bundle's entries are
held in memory. Corruptions are the contract's row errors, applied to rows
nothing else refers to, so a quarantined row never leaves a dangling reference.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import IO, Any

from cpgraph.contract.spec import FileSpec

BUNDLE_SIZE = 500

_BAD_DATES = (
    "2019-02-30",
    "31/04/2018",
    "not known",
    "00/00/0000",
    "2021-13-01",
    "15th March 2019",
)
_BAD_DATETIMES = ("2024-13-01T10:00:00Z", "yesterday", "2023-02-29T09:00:00Z", "32/01/2024 10:00")
_WEIRD_ENUMS = ("Male", "unknown", "uncle", "other_relative", "Female", "n/k")


def render_csv_row(fields: list[str]) -> str:
    """Render one CSV record (RFC 4180 minimal quoting), without the line terminator."""
    out = []
    for f in fields:
        if any(c in f for c in ',"\n\r'):
            f = '"' + f.replace('"', '""') + '"'
        out.append(f)
    return ",".join(out)


class CsvSink:
    """One CSV file being written; knows the physical line the next row starts on."""

    def __init__(self, path: Path, spec: FileSpec) -> None:
        self.path = path
        self.spec = spec
        self.fh: IO[str] = path.open("w", encoding="utf-8", newline="")
        self.fh.write(render_csv_row(list(spec.columns)) + "\n")
        self.next_line = 2
        self.rows = 0

    def write(self, fields: list[str]) -> int:
        """Write a record and return the 1-based physical line where it starts."""
        text = render_csv_row(fields)
        line = self.next_line
        self.fh.write(text + "\n")
        self.next_line += 1 + text.count("\n")
        self.rows += 1
        return line

    def close(self) -> None:
        """Close the file."""
        self.fh.close()


def corrupt_row(fields: list[str], spec: FileSpec, rng: random.Random) -> tuple[list[str], str]:
    """Turn a row into a contract row error; return the new fields and the error code."""
    cols = list(spec.columns)
    kinds = ["missing_required", "too_many_fields"]
    if spec.dates or spec.datetimes:
        kinds.append("bad_date")
    if any(r.required for r in spec.refs):
        kinds.append("unknown_reference")
    kind = rng.choice(kinds)
    fields = list(fields)
    if kind == "missing_required":
        req = [c for c in cols if c in spec.required and c != spec.id_column] or [
            c for c in cols if c in spec.required
        ]
        fields[cols.index(rng.choice(req))] = rng.choice(("", " "))
    elif kind == "too_many_fields":
        fields.extend(rng.choice((["extra"], [""], ["N", "see notes"])))
    elif kind == "bad_date":
        col = rng.choice(sorted(spec.dates | spec.datetimes))
        bad = _BAD_DATETIMES if col in spec.datetimes else _BAD_DATES
        fields[cols.index(col)] = rng.choice(bad)
    else:
        ref = rng.choice([r for r in spec.refs if r.required])
        fields[cols.index(ref.column)] = f"ZZ{rng.randint(100000, 999999)}"
    return fields, kind


def warn_row(fields: list[str], spec: FileSpec, rng: random.Random) -> list[str]:
    """Add a warning-level oddity (unknown enum value or unreadable boolean) if possible."""
    cols = list(spec.columns)
    options = [(c, "enum") for c in sorted(spec.enums)] + [
        (c, "bool") for c in sorted(spec.booleans)
    ]
    options = [o for o in options if o[0] not in spec.required]
    if not options:
        return fields
    col, what = rng.choice(options)
    fields = list(fields)
    fields[cols.index(col)] = (
        rng.choice(_WEIRD_ENUMS) if what == "enum" else rng.choice(("maybe", "unknown", "?"))
    )
    return fields


def corrupt_resource(res: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Make a FHIR resource invalid against the R4B model (the bundle stays valid)."""
    res = json.loads(json.dumps(res))
    rtype = res["resourceType"]
    r = rng.random()
    if rtype in ("Patient", "RelatedPerson"):
        if r < 0.5:
            res["birthDate"] = rng.choice(("2015-02-30", "31/12/2010", "unknown"))
        else:
            res["colour"] = "blue"
    elif rtype == "Encounter":
        if r < 0.5:
            del res["status"]
        else:
            res["period"] = {"start": "yesterday"}
    else:
        del res["status"]
    return res


class BundleSink:
    """Writes FHIR R4B collection bundles of about ``BUNDLE_SIZE`` entries each."""

    def __init__(self, folder: Path, timestamp: str) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.timestamp = timestamp
        self.pending: list[tuple[dict[str, Any], bool]] = []
        self.files = 0
        self.entries = 0
        self.written: list[str] = []
        self.resources: dict[str, int] = {}  # bundle file → resources (valid bundles only)

    def next_name(self) -> str:
        """The relative path of the next bundle file."""
        return f"bundles/bundle-{self.files + 1:05d}.json"

    def add(self, resource: dict[str, Any], corrupted: bool) -> tuple[str, int]:
        """Queue a resource; return (file, 1-based entry index) it will be written at."""
        self.pending.append((resource, corrupted))
        return self.next_name(), len(self.pending)

    def flush_if_full(self) -> None:
        """Write the pending bundle if it holds ``BUNDLE_SIZE`` entries or more."""
        if len(self.pending) >= BUNDLE_SIZE:
            self.flush()

    def flush(self) -> None:
        """Validate the pending entries with ``fhir.resources.R4B`` and write the bundle."""
        from fhir.resources.R4B.bundle import Bundle

        if not self.pending:
            return
        name = self.next_name()
        bundle_id = Path(name).stem
        valid = [{"resource": r} for r, bad in self.pending if not bad]
        model = Bundle.model_validate(
            {
                "resourceType": "Bundle",
                "id": bundle_id,
                "type": "collection",
                "timestamp": self.timestamp,
                "entry": valid,
            }
        )
        text = model.model_dump_json(exclude_none=True)
        if any(bad for _, bad in self.pending):
            data = json.loads(text)
            it = iter(data["entry"])
            data["entry"] = [{"resource": r} if bad else next(it) for r, bad in self.pending]
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        (self.folder.parent / name).write_text(text, encoding="utf-8")
        self.files += 1
        self.entries += len(self.pending)
        self.written.append(name)
        self.resources[name] = len(self.pending)
        self.pending = []

    def write_raw(self, text: str) -> str:
        """Write an arbitrary (broken) bundle file; return its relative path."""
        self.flush()
        name = self.next_name()
        (self.folder.parent / name).write_text(text, encoding="utf-8")
        self.files += 1
        self.written.append(name)
        return name
