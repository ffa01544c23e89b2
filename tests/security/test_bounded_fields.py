"""Every contract field is bounded; the validator and the loaders bound it alike.

An unbounded record id, address or postcode reached FalkorDB's uniqueness check
and crashed the server (a ~4,500-character key), and its crash report wrote the
failing query — personal data — into the server log. Now a longer value
quarantines its row (``too_long``) in the validator and in every loader.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from cpgraph.contract import ERROR, validate_extract
from cpgraph.contract.spec import (
    COLUMN_KINDS,
    CSV_FILES,
    FHIR_COLUMNS,
    FIELD_LIMITS,
    max_length,
)
from cpgraph.ingest.engine import Producer, prepare_extract
from cpgraph.ingest.mapping import column_limits, load_mappings
from cpgraph.ingest.report import LoadReport
from cpgraph.keys import AGENCIES
from tests.factories import undeclare_files


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated population: every agency's files with enough rows."""
    from cpgraph.generate import generate  # noqa: PLC0415 — only for these tests

    out = tmp_path_factory.mktemp("bounded") / "out"
    generate(out, 120, 20261101)
    return out


def _folder(root: Path, agency: str) -> Path:
    """The agency's largest extract folder."""
    found = [
        p
        for p in sorted(root.iterdir())
        if (p / "manifest.json").is_file()
        and json.loads((p / "manifest.json").read_text())["agency"] == agency
    ]
    assert found, f"no {agency} extract generated"
    return max(found, key=lambda p: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()))


def _produce(folder: Path) -> tuple[LoadReport, list[list[Any]]]:
    """Run the loader's row pipeline (no store): its report and quarantined rows."""
    plan = prepare_extract(folder)
    report = LoadReport(
        plan.load_id, plan.system, plan.agency, plan.organisation, plan.extracted_at, str(folder)
    )
    rows: dict[str, list[list[Any]]] = defaultdict(list)
    for name, batch in Producer(plan, report, 500, fhir_workers=0).batches():
        rows[name].extend(batch)
    return report, rows["ingest_quarantine_upsert"]


def _default_mappings() -> dict[str, Any]:
    return {m.agency: m for m in load_mappings() if m.default}


def test_every_contract_column_has_a_declared_kind() -> None:
    """No contract column falls back to the free-text bound by accident."""
    for agency in AGENCIES:
        for spec in CSV_FILES[agency]:
            missing = [c for c in spec.columns if c not in COLUMN_KINDS]
            assert not missing, f"{agency}/{spec.name}: {missing}"
    for resource, columns in FHIR_COLUMNS.items():
        missing = [c for c in columns if c not in COLUMN_KINDS]
        assert not missing, f"{resource}: {missing}"
    assert FIELD_LIMITS["name"] == 100
    assert FIELD_LIMITS["address"] == 300
    assert FIELD_LIMITS["id"] == 64
    assert FIELD_LIMITS["postcode"] == 16
    assert FIELD_LIMITS["text"] == 10_000
    # Nothing that can reach a key or an index is anywhere near the crash size.
    assert max(v for k, v in FIELD_LIMITS.items() if k != "text") < 1000


@pytest.mark.parametrize("agency", [a for a in AGENCIES if CSV_FILES[a]])
def test_loader_limits_are_the_contract_limits(agency: str) -> None:
    """The default mappings bound each column exactly as the contract does."""
    mapping = _default_mappings()[agency]
    for spec in CSV_FILES[agency]:
        assert column_limits(mapping.entry(spec.name)) == spec.max_lengths, spec.name


def test_health_loader_reads_and_bounds_the_contract_columns() -> None:
    mapping = _default_mappings()["health"]
    assert {e.resource: e.paths for e in mapping.entries} == FHIR_COLUMNS
    for entry in mapping.entries:
        assert column_limits(entry) == {c: max_length(c) for c in entry.columns}, entry.name


def test_every_mapping_bounds_keys_and_mention_fields() -> None:
    """Variant mappings too: ids, references and mention fields are never free text."""
    for mapping in load_mappings():
        for entry in mapping.entries:
            limits = column_limits(entry)
            bounded = [entry.id, *(r.column for r in entry.refs)]
            if entry.mention:
                bounded += [entry.mention.id, *entry.mention.fields.values()]
            for col in bounded:
                if col is not None:
                    assert limits[col] <= FIELD_LIMITS["names"], (mapping.path.name, col)


def _rewrite_csv(path: Path, mutate: dict[int, tuple[str, str]]) -> None:
    """Set ``row index -> (column, value)`` in a CSV file (header excluded)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    for i, (col, value) in mutate.items():
        rows[i + 1][header.index(col)] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def _too_long_value(col: str, size: int) -> str:
    # Starts like a plausible value, so only its length is wrong.
    return ("A" * size) if col != "postcode" else ("B15 2TT" + "X" * size)[:size]


@pytest.mark.parametrize("agency", [a for a in AGENCIES if CSV_FILES[a]])
def test_validator_and_loader_quarantine_the_same_rows(
    generated: Path, tmp_path: Path, agency: str
) -> None:
    """One over-long value per row, one row per column: both find exactly the same errors."""
    import shutil  # noqa: PLC0415

    folder = tmp_path / agency
    shutil.copytree(_folder(generated, agency), folder)
    undeclare_files(folder)
    over: set[tuple[str, str]] = set()
    for spec in CSV_FILES[agency]:
        path = folder / spec.name
        with path.open(encoding="utf-8-sig", newline="") as fh:
            n_rows = sum(1 for _ in csv.reader(fh)) - 1
        limits = spec.max_lengths
        mutate: dict[int, tuple[str, str]] = {}
        # Rows 2k: one column over its limit; rows 2k+1: the same column at its limit.
        for k, col in enumerate(spec.columns):
            if 2 * k + 1 >= n_rows:
                break
            mutate[2 * k] = (col, _too_long_value(col, limits[col] + 1))
            mutate[2 * k + 1] = (col, _too_long_value(col, limits[col]))
            over.add((spec.name, col))
        _rewrite_csv(path, mutate)
    # Enough rows to exercise most columns of the extract.
    total = sum(len(s.columns) for s in CSV_FILES[agency])
    assert len(over) >= total // 2, f"only {len(over)} of {total} columns exercised"

    errors = {
        (p.file, p.line, p.code, p.column) for p in validate_extract(folder) if p.severity == ERROR
    }
    report, quarantined = _produce(folder)
    loaded_errors = {(q[2], q[3], q[5], q[6] or "") for q in quarantined}
    assert loaded_errors == errors
    # Exactly the over-long rows: a value at its limit passes.
    too_long = [(f, c) for f, _, code, c in errors if code == "too_long"]
    assert sorted(too_long) == sorted(over)
    # Counts reconcile, and every too-long row keeps its raw content.
    assert report.rows_read == report.rows_loaded + report.rows_quarantined
    for q in quarantined:
        if q[5] == "too_long":
            assert "A" * 16 in q[4] or "XXXX" in q[4]


def test_health_validator_and_loader_agree_on_too_long(generated: Path, tmp_path: Path) -> None:
    import shutil  # noqa: PLC0415

    folder = tmp_path / "health"
    shutil.copytree(_folder(generated, "health"), folder)
    undeclare_files(folder)
    bundle = sorted((folder / "bundles").glob("*.json"))[0]
    data = json.loads(bundle.read_text())
    want: set[tuple[int, str]] = set()
    done: set[str] = set()
    for i, entry in enumerate(data["entry"], start=1):
        res = entry["resource"]
        rtype = res["resourceType"]
        if rtype == "Patient" and "surname" not in done and res.get("name"):
            res["name"][0]["family"] = "S" * 101
            want.add((i, "surname"))
            done.add("surname")
        elif rtype == "Patient" and "address" not in done and res.get("address"):
            res["address"][0]["line"] = ["L" * 200, "M" * 200]
            want.add((i, "address"))
            done.add("address")
        elif rtype == "Patient" and "postcode" not in done and res.get("address"):
            res["address"][0]["postalCode"] = "B15 2TT" + "X" * 10
            want.add((i, "postcode"))
            done.add("postcode")
        elif rtype == "Encounter" and "reason" not in done:
            res["reasonCode"] = [{"text": "r" * 10_001}]
            want.add((i, "reason"))
            done.add("reason")
    assert done == {"surname", "address", "postcode", "reason"}
    bundle.write_text(json.dumps(data))
    rel = f"bundles/{bundle.name}"
    errors = {
        (p.file, p.line, p.code, p.column) for p in validate_extract(folder) if p.severity == ERROR
    }
    assert {(line, col) for f, line, code, col in errors if code == "too_long"} == want
    report, quarantined = _produce(folder)
    assert {(q[3], q[6]) for q in quarantined if q[5] == "too_long"} == want
    assert all(q[2] == rel for q in quarantined if q[5] == "too_long")
    assert {(q[2], q[3], q[5], q[6] or "") for q in quarantined} == errors
    assert report.rows_read == report.rows_loaded + report.rows_quarantined
