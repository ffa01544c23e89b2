"""Extracts that are exactly what they say (issue #17): a manifest dated in the future,
a file that links out of the folder, JSON nested past any FHIR bundle, a half-written
last row or bundle, a key twice in one file, and a reload that supersedes what the
broken load left."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from cpgraph.contract import validate_extract
from cpgraph.ingest.engine import load_extract, prepare_extract
from cpgraph.ingest.errors import ExtractFileError, ManifestError
from cpgraph.ingest.quarantine import list_loads, list_quarantine
from cpgraph.ingest.report import LoadReport
from cpgraph.store import GraphStore
from tests.factories import GeneratedPopulation, make_population, undeclare_files

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


# -- a half-written last row, a key twice, a reload that supersedes (issue #17 item 5) --

_ZED = "wmp-niche:nominal:NMX9001"
_WHOLE = 'NMX9001,,,Zed,,Probe,,1990-01-01,M,"Flat 10, 69 Market Street",B1 1AA\n'


def _editable(pop: GeneratedPopulation, system: str, to: Path) -> Path:
    """A copy of one generated extract that no longer claims the generator's digests."""
    folder = _copy(pop, system, to)
    undeclare_files(folder)
    return folder


def _append(folder: Path, name: str, text: str) -> int:
    """Append ``text`` to a CSV file; return the physical line the text starts on."""
    path = folder / name
    data = path.read_text(encoding="utf-8")
    assert data.endswith("\n")
    path.write_text(data + text, encoding="utf-8")
    return data.count("\n") + 1


async def _record_keys(store: GraphStore) -> set[str]:
    rows = await store.query("ingest_snapshot_nodes")
    return {r["props"]["key"] for r in rows if "SourceRecord" in r["labels"]}


async def _address_lines(store: GraphStore, key: str) -> set[str]:
    """The address lines a mention's AT_ADDRESS edges reach."""
    lines = {
        r["props"]["key"]: r["props"].get("line")
        for r in await store.query("ingest_snapshot_nodes")
        if "Address" in r["labels"]
    }
    return {
        lines[r["target"]]
        for r in await store.query("ingest_snapshot_edges")
        if r["type"] == "AT_ADDRESS" and r["source"] == key
    }


async def _event_address_lines(store: GraphStore, occurrence_id: str) -> set[str]:
    """The address lines an occurrence's OCCURRED_AT edges reach."""
    lines = {
        r["props"]["key"]: r["props"].get("line")
        for r in await store.query("ingest_snapshot_nodes")
        if "Address" in r["labels"]
    }
    return {
        lines[r["target"]]
        for r in await store.query("ingest_snapshot_edges")
        if r["type"] == "OCCURRED_AT" and r["source"].endswith(f":{occurrence_id}")
    }


async def _all_address_lines(store: GraphStore) -> set[str]:
    rows = await store.query("ingest_snapshot_nodes")
    return {r["props"].get("line") for r in rows if "Address" in r["labels"]}


def _reconciles(report: LoadReport) -> None:
    for f in report.files.values():
        assert f.read == f.loaded + f.quarantined, f.file


async def _reconciles_with_store(store: GraphStore, report: LoadReport) -> None:
    """The report's counts add up, and its quarantined rows are exactly those stored."""
    _reconciles(report)
    stored = await list_quarantine(store, load_id=report.load_id, limit=100_000)
    assert len(stored) == report.rows_quarantined
    (load,) = [x for x in await list_loads(store) if x["load_id"] == report.load_id]
    assert {f["file"]: f["quarantined"] for f in load["files"]} == {
        f.file: f.quarantined for f in report.files.values()
    }


@pytest.mark.parametrize(
    "tail",
    [
        'NMX9001,,,Zed,,Probe,,1990-01-01,M,"Flat 10, 69 M',  # cut inside a quoted address
        'NMX9001,,,Zed,,Probe,,1990-01-01,M,"Flat 10, 69 M\n',  # the quote never closes
        "NMX9001,,,Zed,,Probe,,1990-01-01,M,Flat 10",  # no line end after the last row
    ],
    ids=["open-quote-no-line-end", "open-quote", "no-line-end"],
)
async def test_a_truncated_last_csv_row_is_quarantined_not_loaded(
    population, tmp_path, falkordb_store: GraphStore, tail: str
) -> None:
    folder = _editable(population, "wmp-niche", tmp_path)
    before = _data_rows(folder / "nominals.csv")
    line = _append(folder, "nominals.csv", tail)
    report = await load_extract(falkordb_store, folder)
    assert report.status == "completed"
    nominals = report.files["nominals.csv"]
    assert nominals.read == before + 1
    assert nominals.errors["truncated_row"] == 1
    await _reconciles_with_store(falkordb_store, report)
    (row,) = [
        q
        for q in await list_quarantine(falkordb_store, system="wmp-niche", limit=10_000)
        if q.reason == "truncated_row"
    ]
    assert (row.file, row.line, row.raw) == ("nominals.csv", line, tail.rstrip("\n"))
    assert _ZED not in await _record_keys(falkordb_store)
    assert "Flat 10, 69 M" not in await _all_address_lines(falkordb_store)


async def test_a_whole_last_row_and_a_header_only_file_load(population, tmp_path) -> None:
    from cpgraph.ingest.readers import iter_csv  # noqa: PLC0415

    folder = _editable(population, "wmp-niche", tmp_path)
    _append(folder, "nominals.csv", _WHOLE)
    assert not any(r.truncated for r in iter_csv(folder / "nominals.csv", "nominals.csv"))
    header_only = tmp_path / "header.csv"
    header_only.write_text("nominal_id,forename,surname", encoding="utf-8")
    assert [r.truncated for r in iter_csv(header_only, "header.csv")] == [False]


async def test_a_half_written_bundle_is_quarantined_whole(
    population, tmp_path, falkordb_store: GraphStore
) -> None:
    folder = _editable(population, "uhb-fhir", tmp_path)
    bundle = sorted((folder / "bundles").glob("*.json"))[0]
    data = bundle.read_bytes()
    json.loads(data)  # whole before the cut
    bundle.write_bytes(data[: len(data) * 2 // 3])
    rel = f"bundles/{bundle.name}"
    report = await load_extract(falkordb_store, folder)
    assert report.status == "completed"
    assert (report.files[rel].read, report.files[rel].quarantined) == (1, 1)
    await _reconciles_with_store(falkordb_store, report)
    rows = await list_quarantine(falkordb_store, system="uhb-fhir", limit=10_000)
    assert [(q.line, q.reason) for q in rows if q.file == rel] == [(0, "truncated_row")]
    problems = {(p.file, p.line, p.code) for p in validate_extract(folder)}
    assert (rel, 0, "truncated_row") in problems


async def test_a_key_twice_in_one_file_quarantines_both_rows(
    population, tmp_path, falkordb_store: GraphStore
) -> None:
    folder = _editable(population, "wmp-niche", tmp_path)
    first = _append(folder, "nominals.csv", _WHOLE)
    second = _append(folder, "nominals.csv", "NMX9001,,,Zoe,,Probe,,1991-01-01,F,,\n")
    # an id the extract already uses, given to someone else: no silent overwrite either
    taken = (folder / "nominals.csv").read_text().splitlines()[1].split(",")[0]
    third = _append(folder, "nominals.csv", f"{taken},,,Someone,,Else,,1970-01-01,M,,\n")
    report = await load_extract(falkordb_store, folder)
    assert report.status == "completed"
    await _reconciles_with_store(falkordb_store, report)
    rows = await list_quarantine(falkordb_store, system="wmp-niche", limit=10_000)
    dup = {(q.file, q.line, q.column) for q in rows if q.reason == "duplicate_key"}
    assert dup == {
        ("nominals.csv", first, "nominal_id"),
        ("nominals.csv", second, "nominal_id"),
        ("nominals.csv", 2, "nominal_id"),
        ("nominals.csv", third, "nominal_id"),
    }
    keys = await _record_keys(falkordb_store)
    assert _ZED not in keys
    assert f"wmp-niche:nominal:{taken}" not in keys
    # what named the quarantined nominal is quarantined too, never attached to either
    involvements = [q for q in rows if q.file == "involvements.csv"]
    assert all(q.reason == "unknown_reference" for q in involvements)
    problems = {(p.file, p.line, p.code) for p in validate_extract(folder) if p.severity == "error"}
    assert {("nominals.csv", n, "duplicate_key") for n in (2, first, second, third)} <= problems


async def test_a_resource_id_twice_in_one_bundle_quarantines_both(
    population, tmp_path, falkordb_store: GraphStore
) -> None:
    folder = _editable(population, "uhb-fhir", tmp_path)
    bundle = sorted((folder / "bundles").glob("*.json"))[0]
    data = json.loads(bundle.read_bytes())
    index, patient = next(
        (i, e["resource"])
        for i, e in enumerate(data["entry"], start=1)
        if e["resource"]["resourceType"] == "Patient"
    )
    other = json.loads(json.dumps(patient))
    other["name"] = [{"given": ["Zed"], "family": "Probe"}]
    data["entry"].append({"resource": other})
    bundle.write_text(json.dumps(data), encoding="utf-8")
    rel = f"bundles/{bundle.name}"
    report = await load_extract(falkordb_store, folder)
    assert report.status == "completed"
    await _reconciles_with_store(falkordb_store, report)
    rows = await list_quarantine(falkordb_store, system="uhb-fhir", limit=10_000)
    dup = {(q.file, q.line, q.reason, q.column) for q in rows if q.reason == "duplicate_key"}
    assert dup == {
        (rel, index, "duplicate_key", "id"),
        (rel, len(data["entry"]), "duplicate_key", "id"),
    }
    assert f"uhb-fhir:patient:{patient['id']}" not in await _record_keys(falkordb_store)
    problems = {(p.file, p.line, p.code) for p in validate_extract(folder) if p.severity == "error"}
    assert (rel, index, "duplicate_key") in problems


async def test_reloading_the_fixed_extract_supersedes_what_the_broken_one_left(
    population, tmp_path, falkordb_store: GraphStore
) -> None:
    """The probe of issue #17: a half-written row, then the whole file again."""
    store = falkordb_store
    broken = _editable(population, "wmp-niche", tmp_path / "broken")
    fixed = _editable(population, "wmp-niche", tmp_path / "fixed")
    # A mention whose address arrived cut short but on a whole line (as a store loaded
    # before truncated rows were caught holds it), and a last row cut off mid-file.
    amy = "wmp-niche:nominal:NMX9002"
    _append(broken, "nominals.csv", "NMX9002,,,Amy,,Probe,,1992-02-02,F,Flat 10,B1 1AA\n")
    cut = _append(broken, "nominals.csv", _WHOLE[:-20])
    _append(fixed, "nominals.csv", "NMX9002,,,Amy,,Probe,,1992-02-02,F,Flat 10 Rea Court,B1 1AA\n")
    _append(fixed, "nominals.csv", _WHOLE)
    occurrence = "OCCX9001,assault,2025-01-02T10:00:00Z,{},B1 1AA,,,,\n"
    _append(broken, "occurrences.csv", occurrence.format("9 Half"))
    _append(fixed, "occurrences.csv", occurrence.format("9 Halford Street"))
    first = await load_extract(store, broken)
    await _reconciles_with_store(store, first)
    assert await _address_lines(store, amy) == {"Flat 10"}
    assert await _event_address_lines(store, "OCCX9001") == {"9 Half"}
    assert _ZED not in await _record_keys(store)
    quarantined = await list_quarantine(store, system="wmp-niche", limit=10_000)
    assert ("nominals.csv", cut, "truncated_row") in {
        (q.file, q.line, q.reason) for q in quarantined
    }

    second = await load_extract(store, fixed)  # the same extract (same extracted_at), whole
    assert second.load_id == first.load_id
    assert second.status == "completed"
    await _reconciles_with_store(store, second)
    assert second.rows_quarantined == first.rows_quarantined - 1
    assert second.superseded == {"quarantine": 1, "address_edges": 2, "addresses": 2}
    assert await _address_lines(store, amy) == {"Flat 10 Rea Court"}
    assert await _address_lines(store, _ZED) == {"Flat 10, 69 Market Street"}
    assert await _event_address_lines(store, "OCCX9001") == {"9 Halford Street"}
    lines = await _all_address_lines(store)
    assert {"Flat 10", "9 Half"}.isdisjoint(lines)  # nothing reaches them any more: gone
    after = await list_quarantine(store, system="wmp-niche", limit=10_000)
    assert "truncated_row" not in {q.reason for q in after}
    assert len(after) == len(quarantined) - 1

    again = await load_extract(store, fixed)  # and once more: nothing changes
    assert again.rows_quarantined == second.rows_quarantined
    assert not any(again.superseded.values())
    assert await list_quarantine(store, system="wmp-niche", limit=10_000) == after


async def test_a_newer_extract_supersedes_older_quarantine_rows_it_fixes(
    population, tmp_path, falkordb_store: GraphStore
) -> None:
    store = falkordb_store
    older = _editable(population, "wmp-niche", tmp_path / "older")
    newer = _editable(population, "wmp-niche", tmp_path / "newer")
    manifest = json.loads((newer / "manifest.json").read_text())
    manifest["extracted_at"] = manifest["extracted_at"].replace("T02:", "T03:")
    (newer / "manifest.json").write_text(json.dumps(manifest))
    bad_date = _append(older, "nominals.csv", "NMX9003,,,Cal,,Probe,,1990-02-30,M,1 Old Road,\n")
    no_id = _append(older, "nominals.csv", ",,,No,,Id,,1990-01-01,M,,\n")
    _append(newer, "nominals.csv", "NMX9003,,,Cal,,Probe,,1990-02-28,M,2 New Road,\n")
    _append(older, "nominals.csv", "NMX9004,,,Dee,,Probe,,1990-03-01,F,1 Old Road,\n")
    _append(newer, "nominals.csv", "NMX9004,,,Dee,,Probe,,1990-03-01,F,2 New Road,\n")
    first = await load_extract(store, older)
    second = await load_extract(store, newer)
    assert second.load_id != first.load_id
    rows = {
        (q.load_id, q.line, q.reason)
        for q in await list_quarantine(store, system="wmp-niche", limit=10_000)
    }
    assert (first.load_id, bad_date, "bad_date") not in rows  # fixed in the newer extract
    assert (first.load_id, no_id, "missing_required") in rows  # no key: left for a steward
    assert "wmp-niche:nominal:NMX9003" in await _record_keys(store)
    # an address an older extract stated is history, not a stale edge
    assert await _address_lines(store, "wmp-niche:nominal:NMX9004") == {"1 Old Road", "2 New Road"}
    await _reconciles_with_store(store, second)


def test_cpgraph_load_of_an_extract_with_quarantined_rows_exits_0_and_reconciles(
    population, tmp_path
) -> None:
    from tests.e2e.test_cli_db import cpgraph  # noqa: PLC0415

    folder = _editable(population, "wmp-niche", tmp_path)
    _append(folder, "nominals.csv", _WHOLE[:-20])
    env = {"CPGRAPH_DATA_DIR": str(tmp_path / "data")}
    loaded = cpgraph("load", str(folder), cwd=tmp_path, env=env)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    summary = re.search(
        r"(\d[\d,]*) rows read = (\d[\d,]*) loaded \+ (\d[\d,]*) quarantined", loaded.stdout
    )
    assert summary, loaded.stdout[-2000:]
    read, ok, bad = (int(g.replace(",", "")) for g in summary.groups())
    assert read == ok + bad and bad >= 1
    listed = cpgraph("quarantine", "list", "--system", "wmp-niche", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "truncated_row" in listed.stdout
