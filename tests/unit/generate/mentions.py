"""An independent reader of person mentions in generated extracts (for the tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cpgraph.contract import validate_extract
from cpgraph.contract.spec import CSV_FILES, record_key
from cpgraph.contract.validate import iter_csv_rows


def read_manifest(folder: Path) -> dict[str, str]:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def csv_rows(folder: Path, name: str) -> list[tuple[int, dict[str, str]]]:
    """(start line, row dict) for every data row of a CSV file."""
    rows = iter_csv_rows(folder / name)
    _, header = next(rows)
    return [(line, dict(zip(header, fields, strict=False))) for line, fields in rows]


def loadable_mentions(folder: Path) -> set[str]:
    """Record keys of every person mention a loader would load from one extract."""
    errors = {(p.file, p.line) for p in validate_extract(folder) if p.severity == "error"}
    manifest = read_manifest(folder)
    system, agency = manifest["system"], manifest["agency"]
    keys: set[str] = set()
    if agency == "health":
        for path in sorted((folder / "bundles").glob("*.json")):
            rel = f"bundles/{path.name}"
            if (rel, 0) in errors:
                continue
            data = json.loads(path.read_text(encoding="utf-8"))
            for i, entry in enumerate(data.get("entry", []), start=1):
                res: dict[str, Any] = entry["resource"]
                kind = {"Patient": "patient", "RelatedPerson": "related_person"}.get(
                    res["resourceType"]
                )
                if kind and (rel, i) not in errors:
                    keys.add(f"{system}:{kind}:{res['id']}")
        return keys
    for spec in CSV_FILES[agency]:
        if spec.kind is None or not (folder / spec.name).exists():
            continue
        assert spec.id_column is not None
        for line, row in csv_rows(folder, spec.name):
            if (spec.name, line) not in errors:
                keys.add(record_key(system, spec.kind, row[spec.id_column], spec.upper_id))
    return keys
