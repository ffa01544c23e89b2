"""The contract validator on hand-written extracts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cpgraph.contract import parse_bool, parse_date, parse_datetime, validate_extract


def _manifest(folder: Path, agency: str, system: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "agency": agency,
                "system": system,
                "organisation": "Test Org",
                "extracted_at": "2026-11-01T02:00:00Z",
            }
        ),
        encoding="utf-8",
    )


def _errors(folder: Path) -> dict[tuple[str, int], str]:
    return {(p.file, p.line): p.code for p in validate_extract(folder) if p.severity == "error"}


def _warnings(folder: Path) -> set[tuple[str, int, str, str]]:
    return {
        (p.file, p.line, p.code, p.column)
        for p in validate_extract(folder)
        if p.severity == "warning"
    }


@pytest.fixture
def police(tmp_path: Path) -> Path:
    f = tmp_path / "force"
    _manifest(f, "police", "test-force")
    (f / "nominals.csv").write_text(
        "\ufeffnominal_id,pnc_id,cro_number,forename,middle_names,surname,aliases,"
        "date_of_birth,gender,address,postcode\n"
        'N1,12/0000001H,,Bill,,SMITH,William Smith,02/03/1980,M,"1 High St,\nAston",B6 1AA\n'
        "N2,,,,,Jones,,1981-01-01,F,,\n"
        "N3,,,Ann,,Jones,,1981-02-30,F,,\n"
        "N4,,,Ann,,Jones,,1981-02-03,Woman,,\n"
        " N5 ,,,Bill,,Smith,,,M,,\n"
        "N5,,,Will,,Smith,,,M,,\n",
        encoding="utf-8",
    )
    (f / "occurrences.csv").write_text(
        "occurrence_id,occurrence_type,occurred_at,address,postcode,dash_risk,marac_referral,"
        "children_present,summary\n"
        "O1,domestic_abuse,2025-01-02T10:00:00Z,,,high,Y,maybe,\n"
        "O2,assault,2025-01-02,,,,,,\n"
        "O3,assault,yesterday,,,,,,\n",
        encoding="utf-8",
    )
    (f / "involvements.csv").write_text(
        "occurrence_id,nominal_id,role,relationship_to_victim,notes\n"
        "O1,N1,suspect,partner\n"
        "O1,N2,victim,none\n"
        "O9,N1,suspect,partner\n"
        "O2,N4,perpetrator,none\n"
        "O2,N4,witness,none,extra,more\n"
        "O3,N1,suspect,partner\n",
        encoding="utf-8",
    )
    return f


def test_police_row_errors_at_physical_lines(police: Path) -> None:
    errors = _errors(police)
    assert errors == {
        ("nominals.csv", 4): "missing_required",  # the quoted newline makes N1 span 2-3
        ("nominals.csv", 5): "bad_date",
        ("nominals.csv", 7): "duplicate_key",  # N5 twice: neither row loads
        ("nominals.csv", 8): "duplicate_key",
        ("occurrences.csv", 4): "bad_datetime",
        ("involvements.csv", 3): "unknown_reference",  # N2 was quarantined
        ("involvements.csv", 4): "unknown_reference",  # O9 does not exist
        ("involvements.csv", 6): "too_many_fields",
        ("involvements.csv", 7): "unknown_reference",  # O3 was quarantined
    }


def test_police_warnings_never_quarantine(police: Path) -> None:
    warnings = _warnings(police)
    assert ("nominals.csv", 6, "unknown_enum", "gender") in warnings
    assert ("occurrences.csv", 2, "bad_boolean", "children_present") in warnings
    assert ("involvements.csv", 5, "unknown_enum", "role") in warnings
    assert ("involvements.csv", 1, "unknown_column", "notes") in warnings


def test_education_upn_references_are_case_insensitive(tmp_path: Path) -> None:
    f = tmp_path / "edu"
    _manifest(f, "education", "test-edu")
    (f / "pupils.csv").write_text(
        "upn,forename,surname,date_of_birth\na330200016003,Amy,Khan,2015-01-01\n", encoding="utf-8"
    )
    (f / "contacts.csv").write_text(
        "contact_id,upn,forename,surname,relationship\n"
        "C1, A330200016003 ,Sue,Khan,mother\n"
        "C2,B000000000000,Sue,Khan,mother\n",
        encoding="utf-8",
    )
    (f / "concerns.csv").write_text(
        "concern_id,upn,raised_at,raised_by_role,raised_by_contact_id,category\n"
        "K1,A330200016003,2026-01-01T09:00:00,relative,C9,neglect\n"
        "K2,A330200016003,2026-01-01,relative,C1,neglect\n",
        encoding="utf-8",
    )
    assert _errors(f) == {("contacts.csv", 3): "unknown_reference"}
    assert ("concerns.csv", 2, "unknown_optional_reference", "raised_by_contact_id") in _warnings(f)


def test_bad_manifest(tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.mkdir()
    (f / "manifest.json").write_text('{"agency": "army", "system": "X Y"}', encoding="utf-8")
    problems = validate_extract(f)
    assert {p.column for p in problems if p.code == "bad_manifest"} >= {"agency", "system"}


def _bundle(entries: list[dict]) -> str:
    return json.dumps(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in entries],
        }
    )


def test_health_bundles(tmp_path: Path) -> None:
    f = tmp_path / "hosp"
    _manifest(f, "health", "test-fhir")
    b = f / "bundles"
    b.mkdir()
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "birthDate": "2015-01-01",
        "name": [{"family": "Khan", "given": ["Amy"]}],
    }
    enc = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "EMER"},
        "subject": {"reference": "Patient/p1"},
        "participant": [{"individual": {"reference": "RelatedPerson/r9"}}],
    }
    (b / "a.json").write_text(
        _bundle(
            [
                patient,
                {**patient, "id": "p2", "birthDate": "2015-02-30"},
                enc,
                {**enc, "id": "e2", "subject": {"reference": "Patient/p2"}},
                {"resourceType": "Observation", "id": "o1"},
                {"resourceType": "Encounter", "id": "e3", "class": {"code": "EMER"}},
            ]
        ),
        encoding="utf-8",
    )
    (b / "b.json").write_text('{"resourceType": "Bundle", "entry": [', encoding="utf-8")
    (b / "d.json").write_text('{"resourceType": "Bundle"} and more', encoding="utf-8")
    (b / "c.json").write_text(json.dumps(patient), encoding="utf-8")
    assert _errors(f) == {
        ("bundles/a.json", 2): "invalid_resource",
        ("bundles/a.json", 4): "unknown_reference",
        ("bundles/a.json", 6): "invalid_resource",
        ("bundles/b.json", 0): "truncated_row",  # the file breaks off: half-written
        ("bundles/d.json", 0): "not_json",
        ("bundles/c.json", 0): "not_bundle",
    }
    warnings = _warnings(f)
    assert ("bundles/a.json", 5, "ignored_resource_type", "") in warnings
    assert ("bundles/a.json", 3, "unknown_optional_reference", "participant.individual") in warnings


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2024-02-29", True),
        ("29/02/2024", True),
        ("2023-02-29", False),
        ("31/04/2018", False),
        ("20240101", False),
        ("2024/01/01", False),
        ("not known", False),
        ("1/2/2024", True),
    ],
)
def test_parse_date(value: str, ok: bool) -> None:
    assert (parse_date(value) is not None) is ok


def test_parse_datetime_and_bool() -> None:
    assert parse_datetime("2026-01-01T10:00:00Z") is not None
    assert parse_datetime("2026-01-01") is not None
    assert parse_datetime("yesterday") is None
    assert parse_datetime("2024-13-01T10:00:00Z") is None
    assert [parse_bool(v) for v in ("Y", "n", "1", "false", "maybe")] == [
        True,
        False,
        True,
        False,
        None,
    ]
