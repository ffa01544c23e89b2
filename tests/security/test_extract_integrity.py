"""Extracts that are exactly what they say (issue #17): a manifest dated in the future,
a file that links out of the folder, and JSON nested past any FHIR bundle."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cpgraph.contract import validate_extract
from cpgraph.ingest.engine import load_extract, prepare_extract
from cpgraph.ingest.errors import ExtractFileError, ManifestError
from cpgraph.ingest.quarantine import list_loads, list_quarantine
from cpgraph.store import GraphStore
from tests.factories import GeneratedPopulation, make_population

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> GeneratedPopulation:
    return make_population(tmp_path_factory.mktemp("integrity"), households=4, seed=2)


def _copy(pop: GeneratedPopulation, system: str, to: Path) -> Path:
    folder = to / system
    shutil.copytree(pop.extract(system), folder)
    return folder


def test_a_manifest_dated_in_the_future_is_refused(population, tmp_path) -> None:
    folder = _copy(population, "wmp-niche", tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["extracted_at"] = "9999-12-31T00:00:00Z"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ManifestError, match="in the future") as err:
        prepare_extract(folder)
    assert "\n" not in str(err.value)


def test_a_file_linking_out_of_the_folder_is_refused(population, tmp_path) -> None:
    folder = _copy(population, "wmp-niche", tmp_path)
    secret = tmp_path / "elsewhere.csv"
    shutil.move(folder / "nominals.csv", secret)
    os.symlink(secret, folder / "nominals.csv")
    with pytest.raises(ExtractFileError, match="links outside the extract folder"):
        prepare_extract(folder)
    # a link that stays inside the folder is just a file
    (folder / "nominals.csv").unlink()
    shutil.move(secret, folder / "nominals-real.csv")
    os.symlink(folder / "nominals-real.csv", folder / "nominals.csv")
    assert prepare_extract(folder).csv_files


async def test_deep_json_is_quarantined_and_other_loads_keep_their_status(
    population, tmp_path, falkordb_store: GraphStore
) -> None:
    store = falkordb_store
    police = _copy(population, "wmp-niche", tmp_path)
    await load_extract(store, police)
    health = _copy(population, "uhb-fhir", tmp_path)
    deep = health / "bundles" / "bundle-99999.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    problems = {(p.file, p.code) for p in validate_extract(health)}
    assert ("bundles/bundle-99999.json", "too_deeply_nested") in problems
    report = await load_extract(store, health)
    assert report.status == "completed"
    rows = await list_quarantine(store, system="uhb-fhir")
    assert [(q.file, q.line, q.reason) for q in rows if q.file.endswith("99999.json")] == [
        ("bundles/bundle-99999.json", 0, "too_deeply_nested")
    ]
    loads = {row["system"]: row["status"] for row in await list_loads(store)}
    assert loads == {"wmp-niche": "completed", "uhb-fhir": "completed"}


def _declare(folder: Path, names: list[str], *, rows: dict[str, int]) -> None:
    import hashlib  # noqa: PLC0415

    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"] = [
        {
            "name": n,
            "rows": rows[n],
            "sha256": hashlib.sha256((folder / n).read_bytes()).hexdigest(),
        }
        for n in names
    ]
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _data_rows(path: Path) -> int:
    from cpgraph.ingest.readers import iter_csv  # noqa: PLC0415

    return sum(1 for _ in iter_csv(path, path.name)) - 1


async def test_a_truncated_or_altered_file_is_refused_before_anything_is_written(
    population, tmp_path, falkordb_store: GraphStore
) -> None:
    folder = _copy(population, "wmp-niche", tmp_path)
    names = sorted(p.name for p in folder.glob("*.csv"))
    counts = {n: _data_rows(folder / n) for n in names}
    _declare(folder, names, rows=counts)
    assert prepare_extract(folder).csv_files  # as the manifest says: accepted
    # cut off mid-row, as an interrupted copy would
    data = (folder / "nominals.csv").read_bytes()
    (folder / "nominals.csv").write_bytes(data[: len(data) - 25])
    with pytest.raises(ExtractFileError, match="sha256"):
        await load_extract(falkordb_store, folder)
    assert await list_loads(falkordb_store, system="wmp-niche") == []
    # a row count that disagrees is refused too, even without a digest: lose a whole row
    last = data.rstrip(b"\n").rfind(b"\n")
    (folder / "nominals.csv").write_bytes(data[: last + 1])
    manifest = json.loads((folder / "manifest.json").read_text())
    for item in manifest["files"]:
        item.pop("sha256")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ExtractFileError, match="the manifest says"):
        prepare_extract(folder)


def test_bundles_are_counted_in_resources(population, tmp_path) -> None:
    folder = _copy(population, "uhb-fhir", tmp_path)
    bundle = sorted((folder / "bundles").glob("*.json"))[0]
    rel = f"bundles/{bundle.name}"
    entries = len(json.loads(bundle.read_bytes())["entry"])
    _declare(folder, [rel], rows={rel: entries})
    assert prepare_extract(folder).bundles
    _declare(folder, [rel], rows={rel: entries + 1})
    with pytest.raises(ExtractFileError, match="the manifest says"):
        prepare_extract(folder)


def test_the_generator_declares_every_file_and_the_loader_checks_them(population) -> None:
    for system in ("wmp-niche", "uhb-fhir"):
        folder = population.extract(system)
        manifest = json.loads((folder / "manifest.json").read_text())
        names = {f["name"] for f in manifest["files"]}
        on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*")}
        assert names and names <= on_disk
        assert all(len(f["sha256"]) == 64 for f in manifest["files"])
        prepare_extract(folder)  # what it declares is what is there
