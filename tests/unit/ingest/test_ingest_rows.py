"""Row handling without a store: what rows become, and garbage never crashes the loader."""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpgraph.ingest.engine import (
    _HASH_JSON,
    ExtractPlan,
    Producer,
    _row_hash,
    fhir_passes,
    prepare_extract,
)
from cpgraph.ingest.mapping import load_mappings
from cpgraph.ingest.report import LoadReport
from cpgraph.ingest.writer import EVENT_COLUMNS, EVENT_FACT_SLOTS, RECORD_COLUMNS, RECORD_INDEX
from cpgraph.store.registry import default_cypher_dir
from tests.unit.ingest.extracts import (
    ENCOUNTER,
    HEALTH_QUARANTINED,
    INVOLVEMENTS,
    NOMINALS,
    OCCURRENCES,
    PATIENT,
    POLICE_QUARANTINED,
    RELATED,
    health_extract,
    police_extract,
    write_extract,
)


def produce(
    folder: Path, batch_size: int = 3, *, fhir_workers: int | None = None, prescan: bool = False
) -> tuple[LoadReport, dict[str, list[list[Any]]]]:
    """Run the producer alone; return its report and every row by query name.

    ``prescan``: the bundle files are scanned ahead by a `fhir.Prescan` of
    ``fhir_workers`` processes, as a multi-extract load does.
    """
    plan: ExtractPlan = prepare_extract(folder)
    report = LoadReport(
        plan.load_id, plan.system, plan.agency, plan.organisation, plan.extracted_at, str(folder)
    )
    rows: dict[str, list[list[Any]]] = defaultdict(list)
    producer = Producer(plan, report, batch_size, fhir_workers=fhir_workers)
    if prescan:
        from cpgraph.ingest import fhir  # noqa: PLC0415 — slow import (FHIR models)

        jobs = [str(p) for p in plan.bundles]
        producer.prescan = fhir.Prescan(fhir_workers or 1, jobs, fhir_passes(plan.mapping))
    for name, batch in producer.batches():
        assert len(batch) <= batch_size
        rows[name].extend(batch)
    return report, rows


def records(rows: dict[str, list[list[Any]]]) -> dict[str, dict[str, Any]]:
    return {r[0]: dict(zip(RECORD_COLUMNS, r, strict=True)) for r in rows["ingest_records_upsert"]}


def events(rows: dict[str, list[list[Any]]]) -> dict[str, dict[str, Any]]:
    return {r[0]: dict(zip(EVENT_COLUMNS, r, strict=True)) for r in rows["ingest_events_upsert"]}


def test_record_columns_match_the_cypher_file() -> None:
    text = (default_cypher_dir() / "ingest_records_upsert.cypher").read_text()
    sets = dict(re.findall(r"s\.(\w+) = r\[(\d+)\]", text))
    node = text.split("CREATE (n:SourceRecord {", 1)[1].split("})", 1)[0]
    created = dict(re.findall(r"(\w+): r\[(\d+)\]", node))
    assert sets, "no assignments found"
    for prop, index in [*sets.items(), *created.items()]:
        assert RECORD_INDEX[prop] == int(index), prop
    assert set(sets) == set(RECORD_COLUMNS) - {"key", "address_key"}
    assert set(created) == set(RECORD_COLUMNS) - {"address_key"}
    assert "OPTIONAL MATCH (s:SourceRecord {key: r[0]})" in text
    assert f"MERGE (a:Address {{key: r[{RECORD_INDEX['address_key']}]}})" in text
    assert f"s.row_hash <> r[{RECORD_INDEX['row_hash']}]" in text
    assert f"old_load <> r[{RECORD_INDEX['load_id']}]" in text


def test_event_columns_match_the_cypher_file() -> None:
    text = (default_cypher_dir() / "ingest_events_upsert.cypher").read_text()
    index = {name: i for i, name in enumerate(EVENT_COLUMNS)}
    sets = dict(re.findall(r"e\.(\w+) = r\[(\d+)\]", text))
    node = text.split("CREATE (n:Event {", 1)[1].split("})", 1)[0]
    created = dict(re.findall(r"(\w+): r\[(\d+)\]", node))
    from_facts = dict(re.findall(r"(\w+): f\.(\w+)", node))
    # (`changed_in`, no column: the load that created or last changed the event)
    assert created.pop("changed_in") == str(index["load_id"])
    for prop, i in [*sets.items(), *created.items()]:
        assert index[prop] == int(i), prop
    assert set(sets) == set(EVENT_COLUMNS) - {"event_id", "facts", "extra_facts"}
    assert set(created) == set(EVENT_COLUMNS) - {"facts", "extra_facts"}
    assert f"e.digest <> r[{index['digest']}] THEN r[{index['load_id']}]" in text
    assert from_facts == {name: name for name in EVENT_FACT_SLOTS}
    assert f"[r[{index['facts']}]]" in text
    assert f"r[{index['extra_facts']}] = false" in text
    assert f"SET e += r[{index['facts']}]" in text


def test_event_fact_slots_cover_the_shipped_mappings() -> None:
    named = {f for m in load_mappings() for e in m.entries for ev in e.events for f in ev.facts}
    assert named <= set(EVENT_FACT_SLOTS)


def test_police_rows(tmp_path: Path) -> None:
    report, rows = produce(police_extract(tmp_path / "p"))
    quarantined = {(r[2], r[3]) for r in rows["ingest_quarantine_upsert"]}
    assert quarantined == POLICE_QUARANTINED
    reasons = {(r[2], r[3]): (r[5], r[6]) for r in rows["ingest_quarantine_upsert"]}
    assert reasons[("nominals.csv", 3)] == ("bad_date", "date_of_birth")
    assert reasons[("nominals.csv", 7)] == ("missing_required", "nominal_id")
    assert reasons[("nominals.csv", 8)] == ("too_many_fields", None)
    assert reasons[("involvements.csv", 4)] == ("unknown_reference", "nominal_id")
    raw = {(r[2], r[3]): r[4] for r in rows["ingest_quarantine_upsert"]}
    assert raw[("nominals.csv", 8)] == "N5,,,Too,,Many,,,,,,extra"
    for f in report.files.values():
        assert f.read == f.loaded + f.quarantined
    assert report.files["nominals.csv"].read == 6
    assert report.files["nominals.csv"].warnings["unknown_enum:gender"] == 1
    assert report.files["occurrences.csv"].warnings["bad_boolean:children_present"] == 1
    assert report.files["occurrences.csv"].warnings["unknown_enum:occurrence_type"] == 1

    recs = records(rows)
    zoe = recs["test-police:nominal:N1"]
    assert (zoe["forename"], zoe["forename_m"]) == ("zoë", "zoe")
    assert (zoe["middle_names"], zoe["middle_m"]) == ("Anne Marie", "anne marie")
    assert (zoe["surname"], zoe["surname_m"]) == ("Nowak-Łukasik", "nowak lukasik")
    assert zoe["aliases"] == ["Zoe Smith", "Z Nowak"]
    assert zoe["aliases_m"] == ["zoe smith", "z nowak"]
    assert zoe["name_text"] == "zoë Anne Marie Nowak-Łukasik Zoe Smith Z Nowak"
    assert (zoe["dob"], zoe["sex"]) == ("2011-04-05", "F")
    assert (zoe["postcode"], zoe["postcode_valid"]) == ("B15 2TT", True)
    assert zoe["pnc_id"] == "2004/0012345X"
    assert zoe["cro_number"] == "123456/04A"
    assert zoe["load_id"] == "test-police@2026-11-01T02:00:00Z"
    jo = recs["test-police:nominal:N3"]
    assert (jo["forename"], jo["sex"], jo["postcode_valid"]) == ("Jo Ann", "Q", False)

    evs = events(rows)
    o1 = evs["test-police:occurrence:O1"]
    assert (o1["is_concern"], o1["concern_category"]) == (True, "domestic_abuse")
    assert (o1["date"], o1["datetime"]) == ("2025-06-01", "2025-06-01T21:30:00+00:00")
    assert o1["facts"]["marac_referral"] is True
    o3 = evs["test-police:occurrence:O3"]
    assert (o3["is_concern"], o3["concern_category"]) == (True, "children_present")
    assert "test-police:occurrence:O2" not in evs

    inv = {(r[0], r[1], r[2]) for r in rows["ingest_involvements_upsert"]}
    assert ("test-police:nominal:N1", "test-police:occurrence:O1", "victim") in inv
    assert ("test-police:nominal:N4", "test-police:occurrence:O1", "suspect") in inv
    assert len(inv) == 3
    rels = [(r[0], r[1], r[3]) for r in rows["ingest_relationships_upsert"]]
    # The suspect is the victim's partner: victim -[partner]-> suspect; "none" states nothing.
    assert rels == [("test-police:nominal:N1", "test-police:nominal:N4", "partner")]


def test_health_rows(tmp_path: Path) -> None:
    report, rows = produce(health_extract(tmp_path / "h"))
    quarantined = {(r[2], r[3]) for r in rows["ingest_quarantine_upsert"]}
    assert quarantined == HEALTH_QUARANTINED
    b1 = report.files["bundles/bundle-00001.json"]
    assert (b1.read, b1.loaded, b1.quarantined) == (6, 4, 2)
    assert b1.warnings["ignored_resource_type:Observation"] == 1
    assert report.files["bundles/bundle-00002.json"].quarantined == 1

    recs = records(rows)
    p1 = recs["test-fhir:patient:p1"]
    assert (p1["nhs_number"], p1["nhs_number_valid"]) == ("9434765919", True)
    assert (p1["forename"], p1["middle_names"], p1["surname_m"]) == (
        "Siobhán",
        "Mary",
        "nowak lukasik",
    )
    assert (p1["sex"], p1["dob"], p1["postcode"]) == ("F", "2012-03-04", "B15 2TT")
    assert p1["address"] == "1 High St, Flat 2"
    rels = [(r[0], r[1], r[3], r[4]) for r in rows["ingest_relationships_upsert"]]
    assert rels == [
        (
            "test-fhir:patient:p1",
            "test-fhir:related_person:r1",
            "partner_of_parent",
            "Mother's partner",
        )
    ]
    evs = events(rows)
    enc = evs["test-fhir:encounter:e1"]
    assert (enc["category"], enc["is_concern"], enc["concern_category"]) == (
        "ae_attendance",
        True,
        "injury",
    )
    flag = evs["test-fhir:cp_is_flag:f1"]
    assert (flag["category"], flag["concern_category"]) == (
        "child_protection_plan",
        "child_protection_plan",
    )
    inv = {(r[0], r[2]) for r in rows["ingest_involvements_upsert"]}
    assert ("test-fhir:related_person:r1", "escort") in inv
    orgs = rows["ingest_event_recorded_by_upsert"]
    assert [(o[0], o[3]) for o in orgs] == [
        ("council:birmingham city council", "Birmingham City Council")
    ]


def test_health_in_worker_processes_same_as_in_process(tmp_path: Path) -> None:
    folder = health_extract(tmp_path / "h")
    # More bundles than workers, so results come back out of a pool in order.
    for n in range(3, 9):
        text = (folder / "bundles" / "bundle-00001.json").read_text()
        (folder / "bundles" / f"bundle-{n:05d}.json").write_text(
            text.replace('"p1"', f'"p{n}"').replace("Patient/p1", f"Patient/p{n}")
        )
    local_report, local = produce(folder, batch_size=4, fhir_workers=0)
    pool_report, pooled = produce(folder, batch_size=4, fhir_workers=2)
    assert pooled == local
    assert pool_report.files_json() == local_report.files_json()
    # scanned ahead (a multi-extract load's FHIR extract): the same rows, the same report
    ahead_report, ahead = produce(folder, batch_size=4, fhir_workers=2, prescan=True)
    assert ahead == local
    assert ahead_report.files_json() == local_report.files_json()
    # A row the engine quarantines after validation keeps the resource's raw JSON.
    raw = {(r[2], r[3]): r[4] for r in pooled["ingest_quarantine_upsert"]}
    orphan = json.loads(raw[("bundles/bundle-00001.json", 6)])
    assert orphan["id"] == "r2"
    assert orphan["patient"] == {"reference": "Patient/nope"}


def test_a_prescan_that_fails_stops_the_load_and_its_workers(tmp_path: Path) -> None:
    from cpgraph.ingest import fhir  # noqa: PLC0415 — slow import (FHIR models)

    folder = health_extract(tmp_path / "h")
    plan = prepare_extract(folder)
    # a bundle file gone after the extract was checked: its scan fails in the worker
    plan.bundles[1].unlink()
    prescan = fhir.Prescan(2, [str(p) for p in plan.bundles], fhir_passes(plan.mapping))
    scans = prescan.scans()
    first_path, first = next(scans)
    assert first_path == str(plan.bundles[0])
    assert first.problem is None and first.items
    with pytest.raises(FileNotFoundError):
        next(scans)
    prescan.close()
    prescan.close()  # idempotent
    assert prescan._pool._processes in (None, {})


def test_a_closed_prescan_says_so_instead_of_waiting(tmp_path: Path) -> None:
    from cpgraph.errors import IngestError  # noqa: PLC0415
    from cpgraph.ingest import fhir  # noqa: PLC0415 — slow import (FHIR models)

    plan = prepare_extract(health_extract(tmp_path / "h"))
    prescan = fhir.Prescan(1, [str(p) for p in plan.bundles], fhir_passes(plan.mapping))
    prescan.close()
    with pytest.raises(IngestError, match="closed"):
        list(prescan.scans())


def test_each_bundle_file_is_scanned_once_for_every_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cpgraph.ingest import fhir  # noqa: PLC0415 — slow import (FHIR models)

    folder = health_extract(tmp_path / "h")
    scanned: list[str] = []
    real = fhir.scan_bundle

    def counting(path: str, passes: Any) -> Any:
        scanned.append(Path(path).name)
        return real(path, passes)

    monkeypatch.setattr(fhir, "scan_bundle", counting)
    report, rows = produce(folder, batch_size=4, fhir_workers=0)
    # Four passes (Patient, RelatedPerson, Encounter, Flag), one read per file.
    assert sorted(scanned) == ["bundle-00001.json", "bundle-00002.json"]
    assert "test-fhir:related_person:r1" in records(rows)
    assert {"test-fhir:encounter:e1", "test-fhir:cp_is_flag:f1"} <= set(events(rows))
    assert report.rows_quarantined == len(HEALTH_QUARANTINED)


def test_later_pass_finds_resources_of_an_earlier_pass_in_any_bundle(tmp_path: Path) -> None:
    # The RelatedPerson and Encounter come in the first file, their Patient in the
    # last: the RelatedPerson pass must still see it (passes run across all files).
    patient = dict(PATIENT, id="late")
    related = dict(RELATED, patient={"reference": "Patient/late"})
    encounter = dict(ENCOUNTER, subject={"reference": "Patient/late"})
    bundles = {
        f"bundles/bundle-{n:05d}.json": json.dumps(
            {"resourceType": "Bundle", "type": "collection", "entry": entries}
        )
        for n, entries in enumerate(
            [
                [{"resource": related}, {"resource": encounter}],
                [],
                [{"resource": patient}],
            ],
            start=1,
        )
    }
    folder = write_extract(tmp_path / "h", "health", "test-fhir", bundles)
    for workers, ahead in ((0, False), (2, False), (2, True)):
        report, rows = produce(folder, batch_size=2, fhir_workers=workers, prescan=ahead)
        assert set(records(rows)) == {"test-fhir:patient:late", "test-fhir:related_person:r1"}
        rel = rows["ingest_relationships_upsert"]
        assert [(r[0], r[1]) for r in rel] == [
            ("test-fhir:patient:late", "test-fhir:related_person:r1")
        ]
        inv = {(r[0], r[2]) for r in rows["ingest_involvements_upsert"]}
        assert inv == {
            ("test-fhir:patient:late", "patient"),
            ("test-fhir:related_person:r1", "escort"),
        }
        assert report.rows_quarantined == 0
        assert report.rows_read == 3


def test_same_key_twice_in_one_file_quarantines_both_rows(tmp_path: Path) -> None:
    # docs/extracts.md: neither version is picked silently; a steward sees both
    folder = write_extract(
        tmp_path / "p",
        "police",
        "dup-1",
        {
            "nominals.csv": "nominal_id,forename,surname\r\nN1,Old,Name\r\n"
            "N2,Other,Person\r\n N1 ,New,Name\r\n"
        },
    )
    report, rows = produce(folder, batch_size=100)
    assert set(records(rows)) == {"dup-1:nominal:N2"}
    quarantined = {(r[3], r[5], r[6]) for r in rows["ingest_quarantine_upsert"]}
    assert quarantined == {(2, "duplicate_key", "nominal_id"), (4, "duplicate_key", "nominal_id")}
    nominals = report.files["nominals.csv"]
    assert (nominals.read, nominals.loaded, nominals.quarantined) == (3, 1, 2)


# -- hypothesis: garbage rows --------------------------------------------------------

# NUL makes a whole file "not CSV" (tested in test_ingest_prepare); rows get anything else.
_cell = st.one_of(
    st.text(
        alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
        max_size=12,
    ),
    st.sampled_from(["", " ", "N1", "O1", "2020-01-01", "31/12/1999", "Y", "maybe", '"', "\n"]),
)
_NOMINAL_HEADER = (
    "nominal_id,pnc_id,cro_number,forename,middle_names,surname,aliases,date_of_birth,"
    "gender,address,postcode"
)


def _csv_text(header: str, rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    buf.write(header + "\r\n")
    for row in rows:
        writer.writerow(row)
    return buf.getvalue()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    nominals=st.lists(st.lists(_cell, min_size=0, max_size=13), max_size=8),
    involvements=st.lists(st.lists(_cell, min_size=0, max_size=5), max_size=8),
    junk=st.text(
        alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
        max_size=60,
    ),
)
def test_garbage_rows_never_crash(
    nominals: list[list[str]], involvements: list[list[str]], junk: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_extract(
            Path(tmp) / "g",
            "police",
            "garbage-1",
            {
                "nominals.csv": _csv_text(_NOMINAL_HEADER, nominals) + junk,
                "occurrences.csv": (
                    "occurrence_id,occurrence_type,occurred_at\r\nO1,other,2020-01-01\r\n"
                ),
                "involvements.csv": _csv_text(
                    "occurrence_id,nominal_id,role,relationship_to_victim", involvements
                ),
            },
        )
        report, rows = produce(folder, batch_size=4)
    quarantine = rows["ingest_quarantine_upsert"]
    for f in report.files.values():
        assert f.read == f.loaded + f.quarantined
    assert sum(f.quarantined for f in report.files.values()) == len(quarantine)
    assert all(q[5] for q in quarantine), "every quarantined row has a reason"
    loaded_keys = set(records(rows))
    assert len(loaded_keys) <= report.files["nominals.csv"].loaded


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.dates(),  # not JSON: default=str writes it as its text
    lambda inner: st.lists(inner, max_size=4) | st.tuples(st.text(max_size=3), inner),
    max_leaves=20,
)


@given(values=st.lists(_JSON_VALUES, max_size=40), facts=st.lists(_JSON_VALUES, max_size=6))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_the_row_hash_json_is_json_encoders_text(values: list[Any], facts: list[Any]) -> None:
    # the row hash's format is stored with every mention: a reload must find it unchanged
    expected = json.JSONEncoder(ensure_ascii=False, default=str).encode([values, facts])
    assert _HASH_JSON([values, facts]) == expected


def test_the_row_hash_of_a_known_row_is_unchanged() -> None:
    row = ["s:patient:p1", "s", "health", None, True, ["Ann", "Lee"], 3, 1.5, 'Zoë "Q"\n']
    # computed with json.JSONEncoder(ensure_ascii=False, default=str).encode, as before
    assert _row_hash(row, [("ethnicity", "A1"), ("gp", None)]) == "24dffd7c6fe84b436789307b"


def test_an_event_digest_ignores_the_load_and_follows_the_row(tmp_path: Path) -> None:
    """The digest (`Event.changed_in` moves when it does) is the same for the same row
    sent by a later load, and differs when a value or a fact changes."""
    first = events(produce(police_extract(tmp_path / "a"))[1])
    later = events(produce(police_extract(tmp_path / "b", extracted_at="2026-01-02T02:00:00Z"))[1])
    edited = events(
        produce(write_extract(tmp_path / "c", "police", "test-police", {
            "nominals.csv": "\ufeff" + NOMINALS,
            "occurrences.csv": OCCURRENCES.replace("shouting", "shouting and threats"),
            "involvements.csv": INVOLVEMENTS,
        }))[1]
    )  # fmt: skip
    o1 = "test-police:occurrence:O1"
    assert first[o1]["load_id"] != later[o1]["load_id"]
    assert {k: e["digest"] for k, e in first.items()} == {k: e["digest"] for k, e in later.items()}
    assert edited[o1]["digest"] != first[o1]["digest"]
    assert all(edited[k]["digest"] == e["digest"] for k, e in first.items() if k != o1)


def test_health_rows_the_same_with_validation_once_per_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cpgraph.contract.fhir_shapes import ShapeValidator  # noqa: PLC0415
    from cpgraph.ingest import fhir  # noqa: PLC0415 — slow import (FHIR models)
    from tests.factories import make_population  # noqa: PLC0415

    pop = make_population(tmp_path / "pop", households=25, seed=7)
    folder = next(Path(f) for f in pop.extracts() if (Path(f) / "bundles").is_dir())
    shapes = ShapeValidator()
    monkeypatch.setattr(fhir, "_SHAPES", shapes)
    fast_report, fast = produce(folder, batch_size=50, fhir_workers=0)
    assert shapes.shortcuts > 100  # most resources took the shortcut

    class ModelOnly:
        @staticmethod
        def validate(model: Any, resource: Any) -> bool:
            try:
                model.model_validate(resource)
            except Exception:  # noqa: BLE001 — as scan_bundle did
                return False
            return True

    monkeypatch.setattr(fhir, "_SHAPES", ModelOnly())
    model_report, by_model = produce(folder, batch_size=50, fhir_workers=0)
    assert fast == by_model
    assert fast_report.files_json() == model_report.files_json()
    assert fast_report.rows_quarantined == model_report.rows_quarantined > 0
