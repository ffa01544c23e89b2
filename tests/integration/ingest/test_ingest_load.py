"""Loading extracts into the real embedded FalkorDB."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from cpgraph.ingest import (
    NotCsvError,
    StaleExtractError,
    list_loads,
    list_quarantine,
    load_extract,
    load_extracts,
    record_versions,
    render_report,
)
from cpgraph.ingest.engine import Producer, prepare_extract
from cpgraph.ingest.report import LoadReport
from cpgraph.store import GraphStore
from tests.integration.ingest.conftest import (
    expected_quarantine,
    extract_folders,
    snapshot,
    truth_keys,
)
from tests.unit.ingest.extracts import (
    HEALTH_QUARANTINED,
    PATIENT,
    POLICE_QUARANTINED,
    bundle_json,
    health_extract,
    police_extract,
    write_extract,
)

pytestmark = pytest.mark.integration


async def _keys(store: GraphStore) -> set[str]:
    rows = await store.query("ingest_snapshot_nodes")
    return {r["props"]["key"] for r in rows if "SourceRecord" in r["labels"]}


@pytest.mark.parametrize(
    "agency", ["police", "health", "education", "childrens_services", "prisons"]
)
async def test_round_trip_of_generated_extracts(
    falkordb_store: GraphStore, generated: Path, agency: str
) -> None:
    folders = extract_folders(generated, agency)
    assert folders, f"the generator wrote no {agency} extract"
    reports = await load_extracts(falkordb_store, folders)
    systems = {r.system for r in reports}
    expected = truth_keys(generated, systems)
    assert expected, "truth lists mentions for these systems"
    assert await _keys(falkordb_store) == expected
    quarantined = {
        (q.system, q.file, q.line) for q in await list_quarantine(falkordb_store, limit=100_000)
    }
    assert quarantined == expected_quarantine(generated, systems)
    for report in reports:
        assert report.status == "completed"
        for f in report.files.values():
            assert f.read == f.loaded + f.quarantined
        assert report.mentions == len({k for k in expected if k.startswith(report.system + ":")})


async def test_police_graph(falkordb_store: GraphStore, tmp_path: Path) -> None:
    report = await load_extract(falkordb_store, police_extract(tmp_path / "p"))
    assert report.rows_quarantined == len(POLICE_QUARANTINED)
    got = await falkordb_store.query("source_record_get", key="test-police:nominal:N1")
    record = got[0]["record"]
    assert (record["surname_m"], record["pnc_id"], record["dob"]) == (
        "nowak lukasik",
        "2004/0012345X",
        "2011-04-05",
    )
    assert record["aliases_m"] == ["zoe smith", "z nowak"]
    assert "nhs_number" not in record  # nulls are not stored
    _, edges = await snapshot(falkordb_store)
    stated = [(s, t) for typ, s, t, _ in edges if typ == "STATED_RELATIONSHIP"]
    assert stated == [("test-police:nominal:N1", "test-police:nominal:N4")]
    involved = {(s, t) for typ, s, t, _ in edges if typ == "INVOLVED_IN"}
    assert ("test-police:nominal:N4", "test-police:occurrence:O1") in involved
    assert any(typ == "OCCURRED_AT" for typ, *_ in edges)
    rows = {(q.file, q.line): q for q in await list_quarantine(falkordb_store, "test-police")}
    assert set(rows) == POLICE_QUARANTINED
    assert rows[("nominals.csv", 3)].raw.startswith("N2,2004/0012345Q,,Dean")
    assert rows[("nominals.csv", 3)].reason == "bad_date"
    loads = await list_loads(falkordb_store, "test-police")
    assert loads[0]["status"] == "completed"
    files = {f["file"]: f for f in loads[0]["files"]}
    assert files["nominals.csv"]["read"] == 6
    assert files["nominals.csv"]["quarantined"] == 3
    text = _render(report)
    assert "nominals.csv" in text and "Dean" not in text and "Zoe" not in text


def _render(report: Any) -> str:
    console = Console(width=120, record=True)
    console.print(render_report(report))
    return console.export_text()


async def test_health_graph(falkordb_store: GraphStore, tmp_path: Path) -> None:
    report = await load_extract(falkordb_store, health_extract(tmp_path / "h"))
    quarantined = {(q.file, q.line) for q in await list_quarantine(falkordb_store, "test-fhir")}
    assert quarantined == HEALTH_QUARANTINED
    assert report.mentions == 2
    _, edges = await snapshot(falkordb_store)
    assert ("STATED_RELATIONSHIP", "test-fhir:patient:p1", "test-fhir:related_person:r1") in {
        e[:3] for e in edges
    }
    assert ("RECORDED_BY", "test-fhir:cp_is_flag:f1") in {(e[0], e[1]) for e in edges}


async def test_a_fhir_maiden_name_is_the_former_surname(
    falkordb_store: GraphStore, tmp_path: Path
) -> None:
    married = dict(
        PATIENT,
        name=[
            {"use": "official", "given": ["Siobhan"], "family": "Okafor"},
            {"use": "maiden", "given": ["Siobhan"], "family": "Nowak-Łukasik"},
        ],
    )
    folder = write_extract(
        tmp_path / "m", "health", "test-fhir", {"bundles/bundle-00001.json": bundle_json(married)}
    )
    await load_extract(falkordb_store, folder)
    (row,) = await falkordb_store.query("api_records_by_key", keys=["test-fhir:patient:p1"])
    record = row["record"]
    assert (record["surname"], record["former_surname"]) == ("Okafor", "Nowak-Łukasik")
    assert record["former_surname_m"] == "nowak lukasik"


async def test_sex_words_of_a_csv_export_are_the_contracts_letters(
    falkordb_store: GraphStore, tmp_path: Path
) -> None:
    rows = "".join(
        f"N{i},Sam,Lee,{value}\r\n"
        for i, value in enumerate(["Male", " female ", "m", "F", "Unknown", "bloke"])
    )
    folder = write_extract(
        tmp_path / "g",
        "police",
        "test-police",
        {"nominals.csv": "nominal_id,forename,surname,gender\r\n" + rows},
    )
    report = await load_extract(falkordb_store, folder)
    assert report.rows_loaded == 6  # words outside the enum are warnings, never row errors
    keys = [f"test-police:nominal:N{i}" for i in range(6)]
    found = {
        r["key"]: r["record"].get("sex")
        for r in await falkordb_store.query("api_records_by_key", keys=keys)
    }
    assert [found[k] for k in keys] == ["M", "F", "M", "F", "U", "bloke"]


async def test_reload_changes_nothing(falkordb_store: GraphStore, generated: Path) -> None:
    folders = extract_folders(generated, "education")[:1] + extract_folders(generated, "health")
    await load_extracts(falkordb_store, folders)
    before = await snapshot(falkordb_store)
    again = await load_extracts(falkordb_store, folders)
    assert await snapshot(falkordb_store) == before
    assert all(r.status == "completed" for r in again)
    labels = {n[0] for n in before[0]}
    assert ("RecordVersion",) not in labels


async def test_newer_extract_updates_and_keeps_history(
    falkordb_store: GraphStore, tmp_path: Path
) -> None:
    header = "nominal_id,forename,surname,postcode\r\n"
    old = write_extract(
        tmp_path / "old", "police", "hist-1", {"nominals.csv": header + "N1,Ann,Lee,B1 1AA\r\n"}
    )
    new = write_extract(
        tmp_path / "new",
        "police",
        "hist-1",
        {"nominals.csv": header + "N1,Ann,Lee-Smith,\r\nN2,Bo,Ray,\r\n"},
        extracted_at="2026-12-01T02:00:00Z",
    )
    await load_extract(falkordb_store, old)
    await load_extract(falkordb_store, new)
    record = (await falkordb_store.query("source_record_get", key="hist-1:nominal:N1"))[0]
    assert record["record"]["surname"] == "Lee-Smith"
    assert "postcode" not in record["record"]  # a value gone in the newer extract is removed
    versions = await record_versions(falkordb_store, "hist-1:nominal:N1")
    assert len(versions) == 1
    assert versions[0]["props"]["surname"] == "Lee"
    assert versions[0]["props"]["postcode"] == "B1 1AA"
    assert versions[0]["superseded_by"] == "hist-1@2026-12-01T02:00:00Z"
    # Reloading the newer extract adds no version; the older one is refused.
    await load_extract(falkordb_store, new)
    assert len(await record_versions(falkordb_store, "hist-1:nominal:N1")) == 1
    with pytest.raises(StaleExtractError, match="newer extract"):
        await load_extract(falkordb_store, old)


class _FailAfter:
    """A store that fails after `n` ingest write batches (a crash half-way).

    Batches sent through the store's ordered write sequence (the loader keeps
    one queued behind the running one) count and fail the same way.
    """

    def __init__(self, store: Any, n: int, countdown: list[int] | None = None) -> None:
        self._store, self._left = store, countdown or [n]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def ordered_writes(self) -> _FailAfter:
        return _FailAfter(self._store.ordered_writes(), 0, self._left)

    async def execute(self, name: str, /, **params: Any) -> Any:
        if "rows" in params:
            self._left[0] -= 1
            if self._left[0] < 0:
                raise RuntimeError("injected crash")
        return await self._store.execute(name, **params)


async def test_interrupted_load_then_rerun_equals_clean_load(
    falkordb_store: GraphStore, generated: Path, tmp_path: Path
) -> None:
    folder = extract_folders(generated, "education")[0]
    await load_extract(falkordb_store, folder, batch_size=50)
    clean = await snapshot(falkordb_store)
    await falkordb_store.reset()
    await falkordb_store.bootstrap()
    with pytest.raises(RuntimeError, match="injected"):
        await load_extract(_FailAfter(falkordb_store, 7), folder, batch_size=50)  # type: ignore[arg-type]
    loads = await list_loads(falkordb_store)
    assert loads[0]["status"] == "failed"
    partial = await snapshot(falkordb_store)
    assert partial != clean
    await load_extract(falkordb_store, folder, batch_size=50)
    assert await snapshot(falkordb_store) == clean


async def test_unusable_extract_writes_nothing(falkordb_store: GraphStore, tmp_path: Path) -> None:
    good = police_extract(tmp_path / "good")
    bad = write_extract(tmp_path / "bad", "police", "bad-1", {"nominals.csv": b"\x00\x01binary"})
    with pytest.raises(NotCsvError, match=r"bad: nominals.csv: contains NUL"):
        await load_extracts(falkordb_store, [good, bad])
    stats = await falkordb_store.stats()
    assert stats.nodes == {}


@pytest.fixture
def fhir_pool() -> Any:
    """The FHIR module, on a machine where bundles are scanned in a worker pool."""
    from cpgraph.ingest import fhir  # noqa: PLC0415 — slow import (FHIR models)

    if fhir.workers_for(fhir.POOL_MIN_BUNDLES + 2) == 0:
        pytest.skip("one CPU: FHIR bundles are validated in process, no pool to start")
    return fhir


def _pool_sized(extract: Path, fhir: Any) -> Path:
    """Add copies of the extract's first bundle (other patient ids) until its bundles
    are enough for the FHIR worker pool (`POOL_MIN_BUNDLES`)."""
    text = (extract / "bundles" / "bundle-00001.json").read_text()
    for n in range(3, 3 + fhir.POOL_MIN_BUNDLES):
        (extract / "bundles" / f"bundle-{n:05d}.json").write_text(text.replace('"p1"', f'"p{n}"'))
    return extract


async def test_a_refused_extract_stops_the_fhir_scans_started_ahead(
    falkordb_store: GraphStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fhir_pool: Any,
) -> None:
    fhir = fhir_pool
    prescans: list[Any] = []

    class Recording(fhir.Prescan):
        def __init__(self, workers: int, jobs: list[str], passes: Any) -> None:
            super().__init__(workers, jobs, passes)
            prescans.append(self)

    monkeypatch.setattr(fhir, "Prescan", Recording)
    big = _pool_sized(health_extract(tmp_path / "h"), fhir)
    broken = police_extract(tmp_path / "p")
    (broken / "nominals.csv").write_bytes(b"\xff\xfe not text")
    with pytest.raises(NotCsvError):
        await load_extracts(falkordb_store, [big, broken])
    assert len(prescans) == 1
    assert prescans[0]._spill.closed  # closed: its workers ended, its file gone
    assert (await falkordb_store.stats()).nodes.get("SourceRecord", 0) == 0


async def test_report_and_load_node_agree(falkordb_store: GraphStore, tmp_path: Path) -> None:
    report = await load_extract(falkordb_store, police_extract(tmp_path / "p"))
    stored = (await list_loads(falkordb_store, "test-police"))[0]
    assert stored["files"] == json.loads(report.files_json())
    assert sum(f["read"] for f in stored["files"]) == report.rows_read == 14


async def test_fhir_bundles_scanned_from_the_start_of_a_multi_extract_load(
    falkordb_store: GraphStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fhir_pool: Any,
) -> None:
    fhir = fhir_pool
    warmed: list[int] = []
    real_warm_up = fhir.warm_up
    monkeypatch.setattr(fhir, "warm_up", lambda: (warmed.append(1), real_warm_up())[1])
    started: list[tuple[int, int]] = []  # (bundle files, extracts loaded when it started)
    loaded: list[str] = []

    class Recording(fhir.Prescan):
        def __init__(self, workers: int, jobs: list[str], passes: Any) -> None:
            started.append((len(jobs), len(loaded)))
            super().__init__(workers, jobs, passes)

    monkeypatch.setattr(fhir, "Prescan", Recording)

    def later(folder: Path) -> Path:
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["extracted_at"] = "2026-11-02T02:00:00Z"
        (folder / "manifest.json").write_text(json.dumps(manifest))
        return folder

    police = police_extract(tmp_path / "p")
    small = later(health_extract(tmp_path / "h1", system="test-fhir-small"))
    await load_extracts(falkordb_store, [police, small])
    assert started == [] and warmed == []  # two bundle files: validated in process
    big = _pool_sized(later(health_extract(tmp_path / "h2", system="test-fhir-big")), fhir)
    police2 = police_extract(tmp_path / "p2", system="test-police-2")
    reports = await load_extracts(
        falkordb_store, [big, police2], progress=lambda system, *_: loaded.append(system)
    )
    # the FHIR extract loads second: its files were being scanned before the first loaded
    # (before the extracts were even checked)
    assert started == [(2 + fhir.POOL_MIN_BUNDLES, 0)]
    assert warmed == []
    assert [r.system for r in reports] == ["test-police-2", "test-fhir-big"]
    assert all(r.status == "completed" for r in reports)
    # the same as the extract read in process, at its turn
    plan = prepare_extract(big)
    alone = LoadReport(plan.load_id, plan.system, plan.agency, plan.organisation,
                       plan.extracted_at, str(big))  # fmt: skip
    for _ in Producer(plan, alone, 500, fhir_workers=0).batches():
        pass
    assert reports[1].files_json() == alone.files_json()
    assert (reports[1].mentions, reports[1].rows_read) == (alone.mentions, alone.rows_read)
    assert reports[1].rows_read == reports[1].rows_loaded + reports[1].rows_quarantined
