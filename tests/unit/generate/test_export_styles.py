"""The `varied` export style: the same population, written as other exports write it."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from cpgraph.contract import validate_extract
from cpgraph.generate import generate
from tests.factories import make_population


@pytest.fixture(scope="module")
def plain_and_varied(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("styles")
    kw = {"households": 40, "seed": 8, "error_rate": 0.05, "profile": "alias_heavy"}
    return (
        make_population(root / "plain", **kw),
        make_population(root / "varied", export_style="varied", **kw),
    )


def test_the_same_people_rows_and_row_errors(plain_and_varied) -> None:
    plain, varied = plain_and_varied
    for name in ("truth.csv", "quarantine_expected.csv", "hard_negatives.csv"):
        assert (varied.root / name).read_bytes() == (plain.root / name).read_bytes()
    errors = {
        (p.system, p.file, p.line)
        for folder in varied.extracts()
        for p in validate_extract(folder)
        if p.severity == "error"
    }
    assert errors == varied.quarantine_expected()  # every corrupted row, where it says
    assert json.loads((varied.root / "generate.json").read_text())["export_style"] == "varied"


def test_every_csv_file_is_written_another_way(plain_and_varied) -> None:
    plain, varied = plain_and_varied
    for path in sorted(plain.root.glob("*/*.csv")):
        other = varied.root / path.parent.name / path.name
        assert other.read_bytes().startswith(b"\xef\xbb\xbf")
        with (
            path.open(newline="", encoding="utf-8") as a,
            other.open(newline="", encoding="utf-8-sig") as b,
        ):
            rows_a, rows_b = list(csv.reader(a)), list(csv.reader(b))
        assert len(rows_b) == len(rows_a)  # every row kept
        assert "export_batch" in rows_b[0] and rows_b[0] != rows_a[0]
    # the FHIR bundles are the generator's own
    for bundle in sorted(plain.root.glob("*/bundles/*.json")):
        other = varied.root / bundle.parent.parent.name / "bundles" / bundle.name
        assert other.read_bytes() == bundle.read_bytes()


def test_the_manifests_declare_the_files_as_written(plain_and_varied) -> None:
    plain, varied = plain_and_varied
    for folder in varied.extracts():
        declared = json.loads((folder / "manifest.json").read_text())["files"]
        for item in declared:
            data = (folder / item["name"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == item["sha256"], item["name"]
        plain_rows = {
            f["name"]: f.get("rows")
            for f in json.loads((plain.root / folder.name / "manifest.json").read_text())["files"]
        }
        assert {f["name"]: f.get("rows") for f in declared} == plain_rows


def test_an_unknown_style_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="export style"):
        generate(tmp_path / "x", households=1, seed=1, export_style="fancy")
