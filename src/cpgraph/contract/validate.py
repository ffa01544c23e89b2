"""Validate an extract folder against the data contract (``docs/extracts.md``).

:func:`validate_extract` reports every row error (what a loader must
quarantine) and every warning (what it must load but report). Problems never
carry cell values, so they can be logged without leaking personal data.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cpgraph.contract.fhirpath import FhirPath
from cpgraph.contract.framing import json_cut_short, record_cut_short
from cpgraph.contract.spec import (
    CSV_FILES,
    ENCOUNTER_CLASSES,
    FHIR_COLUMNS,
    FHIR_RESOURCES,
    FLAG_TEXTS,
    FileSpec,
    max_length,
)
from cpgraph.contract.values import parse_bool, parse_date, parse_datetime
from cpgraph.keys import AGENCIES

ERROR = "error"
WARNING = "warning"

_SYSTEM_RE = re.compile(r"^[a-z0-9-]{2,40}$")


@dataclass(frozen=True, order=True)
class Problem:
    """One finding of the validator.

    Attributes:
        system: The extract's system id (from the manifest, or the folder name).
        file: File path relative to the extract folder (``nominals.csv``,
            ``bundles/bundle-00001.json``).
        line: CSV: 1-based physical line where the row starts (header = 1).
            FHIR: 0 for the whole bundle file, else the 1-based entry index.
            ``manifest.json`` problems use 0.
        severity: ``"error"`` (the row is quarantined) or ``"warning"``.
        code: Machine-readable reason, e.g. ``missing_required``, ``bad_date``,
            ``unknown_reference``, ``too_many_fields``, ``invalid_resource``,
            ``not_json``, ``not_bundle``, ``unknown_enum``, ``bad_boolean``, ``too_long``
            (longer than the column's limit, ``cpgraph.contract.spec.FIELD_LIMITS``).
        column: The column or FHIR element concerned, if any.
        message: Human-readable detail, never containing cell values.
    """

    system: str
    file: str
    line: int
    severity: str
    code: str
    column: str = ""
    message: str = ""


def _local_id(value: str, upper: bool) -> str:
    v = value.strip()
    return v.upper() if upper else v


def iter_csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(start_line, fields)`` for every record of a CSV file, header included.

    ``start_line`` is the 1-based physical line where the record starts. Blank
    lines are skipped. A UTF-8 BOM is accepted.
    """
    for start, fields, _ in _csv_records(path):
        yield start, fields


def _csv_records(path: Path) -> Iterator[tuple[int, list[str], bool]]:
    """As :func:`iter_csv_rows`, with a third item: the file ends inside this record."""
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        taken: list[str] = []

        def lines() -> Iterator[str]:
            for line in fh:
                taken.append(line)
                yield line

        reader = csv.reader(lines())
        prev = 0
        held: tuple[int, list[str], str] | None = None
        header = True
        for fields in reader:
            start = prev + 1
            prev = reader.line_num
            raw = "".join(taken)
            taken.clear()
            if not fields:
                continue
            if held is not None:
                yield held[0], held[1], False
                header = False
            held = (start, fields, raw)
        if held is not None:
            # only a data record can be cut short; a header alone is whole
            yield held[0], held[1], not header and record_cut_short(held[2])


class _Validator:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.system = folder.name
        self.problems: list[Problem] = []

    def add(
        self, file: str, line: int, severity: str, code: str, column: str = "", message: str = ""
    ) -> None:
        self.problems.append(Problem(self.system, file, line, severity, code, column, message))

    # -- manifest -----------------------------------------------------------------
    def manifest(self) -> str | None:
        path = self.folder / "manifest.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            self.add("manifest.json", 0, ERROR, "missing_manifest")
            return None
        except (ValueError, UnicodeDecodeError, RecursionError):
            self.add("manifest.json", 0, ERROR, "not_json")
            return None
        if not isinstance(data, dict):
            self.add("manifest.json", 0, ERROR, "bad_manifest")
            return None
        system = data.get("system")
        if isinstance(system, str) and _SYSTEM_RE.match(system):
            self.system = system
        else:
            self.add("manifest.json", 0, ERROR, "bad_manifest", "system")
        agency = data.get("agency")
        if agency not in AGENCIES:
            self.add("manifest.json", 0, ERROR, "bad_manifest", "agency")
            agency = None
        if not isinstance(data.get("organisation"), str) or not data["organisation"].strip():
            self.add("manifest.json", 0, ERROR, "bad_manifest", "organisation")
        ts = data.get("extracted_at")
        if not isinstance(ts, str) or parse_datetime(ts) is None:
            self.add("manifest.json", 0, ERROR, "bad_manifest", "extracted_at")
        return agency

    # -- CSV ----------------------------------------------------------------------
    def csv_file(self, spec: FileSpec, known: dict[str, set[str]]) -> None:
        path = self.folder / spec.name
        if not path.exists():
            return
        records = _csv_records(path)
        try:
            _, first, _ = next(records)
        except StopIteration:
            self.add(spec.name, 1, ERROR, "missing_header")
            return
        header = [h.strip() for h in first]
        index = {h: i for i, h in enumerate(header)}
        for h in header:
            if h not in spec.columns:
                self.add(spec.name, 1, WARNING, "unknown_column", h)
        for c in spec.required:
            if c not in index:
                self.add(spec.name, 1, WARNING, "missing_column", c)
        ids: set[str] = set()

        def key_of(fields: list[str]) -> str:
            parts = []
            for col in spec.key_columns:
                i = index.get(col)
                value = (fields[i] if i is not None and i < len(fields) else "").strip()
                if not value:
                    return ""  # no key: the row is refused for its missing value instead
                if col in spec.dates:
                    parsed = parse_date(value)
                    value = parsed.isoformat() if parsed is not None else value
                parts.append(_local_id(value, col == "upn"))
            return ":".join(parts)

        # A key on two rows of one file: every such row is an error (no version wins).
        counted: dict[str, int] = {}
        if spec.key_columns:
            for n, (_, fields, cut) in enumerate(_csv_records(path)):
                if n and not cut and (k := key_of(fields)):
                    counted[k] = counted.get(k, 0) + 1
        for line, fields, cut in records:
            if cut:
                self.add(spec.name, line, ERROR, "truncated_row", "", "the file ends in this row")
                continue
            if len(fields) > len(header):
                self.add(spec.name, line, ERROR, "too_many_fields")
                continue
            if counted.get(key_of(fields), 0) > 1:
                self.add(
                    spec.name,
                    line,
                    ERROR,
                    "duplicate_key",
                    "+".join(spec.key_columns),
                    "same key on more than one row: none loads",
                )
                continue

            def get(col: str, fields: list[str] = fields) -> str:
                i = index.get(col)
                return fields[i] if i is not None and i < len(fields) else ""

            error = self._row_error(spec, get, known)
            if error is not None:
                self.add(spec.name, line, ERROR, error[0], error[1])
                continue
            self._row_warnings(spec, line, get, known)
            if spec.id_column:
                ids.add(_local_id(get(spec.id_column), spec.upper_id))
        known[spec.name] = ids

    def _row_error(
        self, spec: FileSpec, get: Any, known: dict[str, set[str]]
    ) -> tuple[str, str] | None:
        limits = spec.max_lengths
        for col in spec.columns:
            if len(get(col).strip()) > limits[col]:
                return "too_long", col
        for col in spec.columns:
            if col in spec.required and not get(col).strip():
                return "missing_required", col
        for col in spec.columns:
            v = get(col).strip()
            if not v:
                continue
            if col in spec.dates and parse_date(v) is None:
                return "bad_date", col
            if col in spec.datetimes and parse_datetime(v) is None:
                return "bad_datetime", col
        for ref in spec.refs:
            if not ref.required:
                continue
            target = known.get(ref.target_file, set())
            upper = ref.column == "upn"
            if _local_id(get(ref.column), upper) not in target:
                return "unknown_reference", ref.column
        return None

    def _row_warnings(
        self, spec: FileSpec, line: int, get: Any, known: dict[str, set[str]]
    ) -> None:
        for col, allowed in spec.enums.items():
            v = get(col).strip()
            if v and v not in allowed:
                self.add(spec.name, line, WARNING, "unknown_enum", col)
        for col in spec.booleans:
            v = get(col).strip()
            if v and parse_bool(v) is None:
                self.add(spec.name, line, WARNING, "bad_boolean", col)
        for col in spec.integers:
            v = get(col).strip()
            if v and not v.isdigit():
                self.add(spec.name, line, WARNING, "bad_integer", col)
        for ref in spec.refs:
            if ref.required:
                continue
            v = get(ref.column).strip()
            if v and v not in known.get(ref.target_file, set()):
                self.add(spec.name, line, WARNING, "unknown_optional_reference", ref.column)

    # -- FHIR ---------------------------------------------------------------------
    def health(self) -> None:
        from fhir.resources.R4B.bundle import Bundle
        from fhir.resources.R4B.encounter import Encounter
        from fhir.resources.R4B.flag import Flag
        from fhir.resources.R4B.patient import Patient
        from fhir.resources.R4B.relatedperson import RelatedPerson

        from cpgraph.contract.fhir_models import speed_up_checks

        speed_up_checks()  # the same validation, two checks worked out per class once
        classes: dict[str, Any] = {
            "Patient": Patient,
            "RelatedPerson": RelatedPerson,
            "Encounter": Encounter,
            "Flag": Flag,
        }
        bundle_dir = self.folder / "bundles"
        if not bundle_dir.is_dir():
            return
        for extra in sorted(p.name for p in self.folder.iterdir()):
            if extra not in ("manifest.json", "bundles"):
                self.add(extra, 0, WARNING, "unknown_file")
        # pass 1: structure and per-resource model validation
        valid: list[tuple[str, int, str, dict[str, Any]]] = []
        for path in sorted(bundle_dir.glob("*.json")):
            rel = f"bundles/{path.name}"
            raw = path.read_bytes()
            try:
                data = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                self.add(rel, 0, ERROR, "truncated_row" if json_cut_short(raw) else "not_json")
                continue
            except RecursionError:
                self.add(rel, 0, ERROR, "too_deeply_nested")
                continue
            if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
                self.add(rel, 0, ERROR, "not_bundle")
                continue
            entries = data.get("entry") or []
            shell = {k: v for k, v in data.items() if k != "entry"}
            try:
                Bundle.model_validate(shell)
            except ValueError:
                self.add(rel, 0, ERROR, "not_bundle", "", "Bundle element invalid")
                continue
            if not isinstance(entries, list):
                self.add(rel, 0, ERROR, "not_bundle", "entry")
                continue
            if shell.get("type") != "collection":
                self.add(rel, 0, WARNING, "bundle_type", "type")
            for i, entry in enumerate(entries, start=1):
                res = entry.get("resource") if isinstance(entry, dict) else None
                if not isinstance(res, dict):
                    self.add(rel, i, ERROR, "invalid_resource", "resource")
                    continue
                rtype = res.get("resourceType")
                cls = classes.get(rtype) if isinstance(rtype, str) else None
                if cls is None:
                    self.add(rel, i, WARNING, "ignored_resource_type")
                    continue
                try:
                    cls.model_validate(res)
                except ValueError as exc:
                    self.add(rel, i, ERROR, "invalid_resource", rtype, f"{type(exc).__name__}")
                    continue
                too_long = _fhir_too_long(rtype, res)
                if too_long is not None:
                    self.add(rel, i, ERROR, "too_long", too_long)
                    continue
                if not res.get("id"):
                    self.add(rel, i, ERROR, "missing_required", "id")
                    continue
                valid.append((rel, i, rtype, res))
        # the same resource id twice in one bundle file: every such entry is an error
        per_file: dict[tuple[str, str, str], int] = {}
        for rel, _, rtype, res in valid:
            per_file[rel, rtype, res["id"]] = per_file.get((rel, rtype, res["id"]), 0) + 1
        for rel, i, rtype, res in valid:
            if per_file[rel, rtype, res["id"]] > 1:
                self.add(rel, i, ERROR, "duplicate_key", "id")
        valid = [v for v in valid if per_file[v[0], v[2], v[3]["id"]] == 1]
        # pass 2: references between resources of the extract
        patients = {r["id"] for _, _, t, r in valid if t == "Patient"}
        related = {r["id"] for _, _, t, r in valid if t == "RelatedPerson"}
        seen: dict[str, set[str]] = {t: set() for t in FHIR_RESOURCES}
        for rel, i, rtype, res in valid:
            if res["id"] in seen[rtype]:
                # in two bundle files: loaded from both, the later file wins
                self.add(rel, i, WARNING, "duplicate_key", "id")
            seen[rtype].add(res["id"])
            ref_field = {"RelatedPerson": "patient", "Encounter": "subject", "Flag": "subject"}.get(
                rtype
            )
            if ref_field:
                ref = (res.get(ref_field) or {}).get("reference", "")
                if not ref.startswith("Patient/") or ref[8:] not in patients:
                    self.add(rel, i, ERROR, "unknown_reference", ref_field)
                    continue
            if rtype == "Encounter":
                code = (res.get("class") or {}).get("code")
                if code not in ENCOUNTER_CLASSES:
                    self.add(rel, i, WARNING, "unknown_enum", "class.code")
                for part in res.get("participant") or []:
                    ind = (part.get("individual") or {}).get("reference", "")
                    if ind.startswith("RelatedPerson/") and ind[14:] not in related:
                        self.add(
                            rel, i, WARNING, "unknown_optional_reference", "participant.individual"
                        )
            if rtype == "Flag" and (res.get("code") or {}).get("text") not in FLAG_TEXTS:
                self.add(rel, i, WARNING, "unknown_enum", "code.text")


def _fhir_too_long(rtype: str, resource: dict[str, Any]) -> str | None:
    """The first contract column of a FHIR resource longer than its limit, else ``None``."""
    for col, path in FHIR_COLUMNS.get(rtype, {}).items():
        value = _fhir_path(path).get(resource)
        if value is not None and len(value.strip()) > max_length(col):
            return col
    return None


@cache
def _fhir_path(text: str) -> Any:
    return FhirPath.compile(text)


def validate_extract(folder: Path | str) -> list[Problem]:
    """Check one extract folder against the data contract.

    Checks the manifest, CSV columns, required values, enums, booleans, dates and
    date-times, required and optional references between files, key uniqueness,
    and for health the JSON/Bundle structure and each resource against the FHIR
    R4B models (``fhir.resources.R4B``) plus the references between resources.

    Args:
        folder: The extract folder (holding ``manifest.json``).

    Returns:
        Every problem found, errors and warnings, in file order. The errors are
        exactly the rows a loader must quarantine; for CSV ``line`` is the
        1-based physical start line, for bundles 0 (whole file) or the 1-based
        entry index.
    """
    v = _Validator(Path(folder))
    agency = v.manifest()
    if agency is None:
        return v.problems
    if agency == "health":
        v.health()
        return v.problems
    known: dict[str, set[str]] = {}
    specs = CSV_FILES[agency]
    names = {s.name for s in specs}
    for p in sorted(v.folder.iterdir()):
        if p.name != "manifest.json" and p.name not in names:
            v.add(p.name, 0, WARNING, "unknown_file")
    for spec in specs:
        v.csv_file(spec, known)
    return v.problems
