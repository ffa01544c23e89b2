"""Whole-extract checks: every unusable extract fails before anything is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cpgraph.contract.spec import FHIR_COLUMNS
from cpgraph.errors import IngestError
from cpgraph.ingest import (
    EmptyFileError,
    FieldTooLargeError,
    ManifestError,
    MissingColumnsError,
    NotCsvError,
    WrongAgencyError,
    prepare_extract,
)
from cpgraph.ingest.readers import FhirPath, iter_csv
from tests.unit.ingest.extracts import health_extract, police_extract, write_extract

SECRET = "Zebedee-Quasimodo"  # a "personal" value that must never reach a message


def test_good_extract_plans(tmp_path: Path) -> None:
    plan = prepare_extract(police_extract(tmp_path / "p"))
    assert plan.load_id == "test-police@2026-11-01T02:00:00Z"
    assert set(plan.csv_files) == {"nominals.csv", "occurrences.csv", "involvements.csv"}
    assert plan.rows == 6 + 3 + 5  # data records, headers excluded


def test_csv_records_carry_physical_lines_and_raw_text(tmp_path: Path) -> None:
    path = police_extract(tmp_path / "p") / "nominals.csv"
    records = list(iter_csv(path, "nominals.csv"))
    assert [r.line for r in records] == [1, 2, 3, 4, 6, 7, 8]
    assert records[0].fields[0] == "nominal_id"  # BOM stripped
    assert records[3].raw == 'N3,,,"Jo\nAnn",,Smith,,1990-01-01,Q,"2 Low Rd, Town",NOTAPC'


@pytest.mark.parametrize(
    ("manifest", "match"),
    [
        (None, "no manifest.json"),
        ("{broken", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (
            {"agency": "fire", "system": "x-1", "organisation": "O", "extracted_at": "2026-01-01"},
            "'agency'",
        ),
        (
            {
                "agency": "police",
                "system": "Bad System",
                "organisation": "O",
                "extracted_at": "2026-01-01",
            },
            "'system'",
        ),
        (
            {
                "agency": "police",
                "system": "ok-1",
                "organisation": " ",
                "extracted_at": "2026-01-01",
            },
            "'organisation'",
        ),
        (
            {"agency": "police", "system": "ok-1", "organisation": "O", "extracted_at": SECRET},
            "'extracted_at'",
        ),
    ],
)
def test_bad_manifests(tmp_path: Path, manifest: object, match: str) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    if manifest is not None:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        (folder / "manifest.json").write_text(text)
    with pytest.raises(ManifestError, match=match) as info:
        prepare_extract(folder)
    assert SECRET not in str(info.value)


def test_wrong_agency_is_named(tmp_path: Path) -> None:
    folder = write_extract(
        tmp_path / "x", "police", "x-1", {"pupils.csv": "upn,forename\r\nA1,Zoe\r\n"}
    )
    with pytest.raises(WrongAgencyError, match="education"):
        prepare_extract(folder)
    folder = write_extract(tmp_path / "y", "health", "y-1", {"nominals.csv": "nominal_id\r\n"})
    with pytest.raises(WrongAgencyError, match="police"):
        prepare_extract(folder)


def test_missing_listed_file_means_nothing_of_that_kind(tmp_path: Path) -> None:
    folder = police_extract(tmp_path / "p")
    (folder / "involvements.csv").unlink()
    plan = prepare_extract(folder)
    assert "involvements.csv" not in plan.csv_files


def test_unknown_columns_and_files_are_noted(tmp_path: Path) -> None:
    folder = write_extract(
        tmp_path / "p",
        "police",
        "p-1",
        {"nominals.csv": "nominal_id,forename,surname,shoe_size\r\n", "notes.txt": "hi"},
    )
    plan = prepare_extract(folder)
    assert plan.notes["unknown_column:nominals.csv:shoe_size"] == 1
    assert plan.notes["unknown_file:notes.txt"] == 1


def test_missing_required_column_is_fatal(tmp_path: Path) -> None:
    folder = write_extract(
        tmp_path / "p", "police", "p-1", {"nominals.csv": f"nominal_id,forename\r\nN1,{SECRET}\r\n"}
    )
    with pytest.raises(MissingColumnsError, match="surname") as info:
        prepare_extract(folder)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("content", ["", "\ufeff", "\r\n\r\n"])
def test_empty_file_is_fatal(tmp_path: Path, content: str) -> None:
    folder = write_extract(tmp_path / "p", "police", "p-1", {"occurrences.csv": content})
    with pytest.raises(EmptyFileError, match="occurrences.csv"):
        prepare_extract(folder)


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",  # binary
        b"nominal_id,forename,surname\r\nN1,\xff\xfe,X\r\n",  # not UTF-8
        b"nominal_id,forename,surname\r\nN1,Zo\x00e,X\r\n",  # NUL
    ],
)
def test_not_csv_is_fatal(tmp_path: Path, content: bytes) -> None:
    folder = write_extract(tmp_path / "p", "police", "p-1", {"nominals.csv": content})
    with pytest.raises(NotCsvError, match="nominals.csv"):
        prepare_extract(folder)


def test_50mb_field_is_fatal_with_a_clear_message(tmp_path: Path) -> None:
    big = "A" * (50 * 1024 * 1024)
    folder = write_extract(
        tmp_path / "p",
        "police",
        "p-1",
        {"nominals.csv": f"nominal_id,forename,surname\r\nN1,{SECRET},{big}\r\n"},
    )
    with pytest.raises(FieldTooLargeError, match=r"nominals.csv: a field near line 2") as info:
        prepare_extract(folder)
    assert SECRET not in str(info.value)
    assert len(str(info.value)) < 300


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not a folder"):
        prepare_extract(tmp_path / "nope")


def test_health_plan_lists_bundles(tmp_path: Path) -> None:
    plan = prepare_extract(health_extract(tmp_path / "h"))
    assert [p.name for p in plan.bundles] == ["bundle-00001.json", "bundle-00002.json"]


def test_fhir_paths() -> None:
    res = {
        "identifier": [{"system": "x", "value": "1"}, {"system": "https://a.b/c", "value": "2"}],
        "name": [{"given": ["Zoë", "Anne", "Marie"], "family": "Smith"}],
        "address": [{"line": ["1 High St", "Flat 2"]}],
        "participant": [
            {"individual": {"reference": "Practitioner/x"}},
            {"individual": {"reference": "RelatedPerson/r9"}},
        ],
        "patient": {"reference": "Group/1"},
        "active": True,
    }
    assert FhirPath.compile("identifier[system=https://a.b/c].value").get(res) == "2"
    assert FhirPath.compile("name[0].given[0]").get(res) == "Zoë"
    assert FhirPath.compile("name[0].given[1:]").get(res) == "Anne Marie"
    assert FhirPath.compile("address[0].line|join:, ").get(res) == "1 High St, Flat 2"
    path = FhirPath.compile("participant[*].individual.reference|ref:RelatedPerson")
    assert path.get(res) == "r9"
    assert FhirPath.compile("patient.reference|ref:Patient").get(res) == "?Group/1"
    assert FhirPath.compile("name[3].family").get(res) is None
    assert FhirPath.compile("active").get(res) == "true"
    with pytest.raises(ValueError, match="bad FHIR path"):
        FhirPath.compile("name[0]..x")
    with pytest.raises(ValueError, match="bad FHIR path"):
        FhirPath.compile("name[first].family")  # a bracket that is no index, slice or match
    either = FhirPath.compile("identifier[system=y].value|or:name[0].family|or:active")
    assert either.get(res) == "Smith"  # the first path that gives something
    assert either.get({"active": False}) == "false"
    assert either.get({}) is None


def test_the_rolecode_coding_is_read_when_another_system_comes_first() -> None:
    """A sender may code a relationship in SNOMED CT as well, in either order."""
    path = FhirPath.compile(FHIR_COLUMNS["RelatedPerson"]["code"])
    rolecode = {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "MTH"}
    snomed = {"system": "http://snomed.info/sct", "code": "72705000"}
    assert path.get({"relationship": [{"coding": [snomed, rolecode]}]}) == "MTH"
    assert path.get({"relationship": [{"coding": [rolecode, snomed]}]}) == "MTH"
    # no system at all: the first coding, as the contract has always read it
    assert path.get({"relationship": [{"coding": [{"code": "FTH"}]}]}) == "FTH"
    assert path.get({"relationship": [{"text": "mother's partner"}]}) is None


# -- FHIR paths: the compiled walk against the original recursive one ----------------


def _reference_get(path: FhirPath, resource: Any) -> str | None:
    """The original, recursive evaluation of a FHIR path (before it was compiled)."""

    def walk(value: Any, steps: tuple[Any, ...]) -> Any:
        if not steps:
            return value
        (name, brackets), rest = steps[0], steps[1:]
        value = value.get(name) if isinstance(value, dict) else None
        return index(value, brackets, rest)

    def index(value: Any, brackets: tuple[str, ...], rest: tuple[Any, ...]) -> Any:
        for j, br in enumerate(brackets):
            if not isinstance(value, list):
                return None
            if br == "*":
                out: list[Any] = []
                for item in value:
                    got = index(item, brackets[j + 1 :], rest)
                    if isinstance(got, list):
                        out.extend(got)
                    elif got is not None:
                        out.append(got)
                return out
            if "=" in br:
                key, _, want = br.partition("=")
                value = next((v for v in value if isinstance(v, dict) and v.get(key) == want), None)
            elif ":" in br:
                lo, _, hi = br.partition(":")
                value = value[int(lo or 0) : int(hi) if hi else None]
            else:
                idx = int(br)
                value = value[idx] if -len(value) <= idx < len(value) else None
        return walk(value, rest)

    value = walk(resource, path.steps)
    for name, arg in path.ops:
        if name == "ref":
            prefix = f"{arg}/"
            candidates = value if isinstance(value, list) else [value]
            found = next(
                (
                    v[len(prefix) :]
                    for v in candidates
                    if isinstance(v, str) and v.startswith(prefix) and len(v) > len(prefix)
                ),
                None,
            )
            if found is None:
                found = next(
                    (f"?{v}" for v in candidates if isinstance(v, str) and v.strip()), None
                )
            value = found
        elif name == "join" and isinstance(value, list):
            value = (arg or " ").join(str(v) for v in value if isinstance(v, (str, int)))
    if isinstance(value, list):
        value = " ".join(str(v) for v in value if isinstance(v, (str, int, float)))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "\ufffd")
    return value if value.strip() else None


_KEYS = ["a", "system"]  # few names, so generated paths usually reach something
_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(["", " ", "x", "a\x00b", "Patient/p1", "Patient/", "https://x", "b"]),
)
_json = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(_KEYS), inner, min_size=1, max_size=2),
    ),
    max_leaves=30,
)
_bracket = st.sampled_from(
    ["0", "1", "-1", "-3", "*", "1:", ":1", "0:2", "system=https://x", "a=b"]
)
_segment = st.tuples(st.sampled_from(_KEYS), st.lists(_bracket, max_size=2)).map(
    lambda t: t[0] + "".join(f"[{b}]" for b in t[1])
)
_path = st.tuples(
    st.lists(_segment, min_size=1, max_size=3),
    st.sampled_from(["", "|join:, ", "|join", "|ref:Patient", "|ref:Patient|join:;"]),
).map(lambda t: ".".join(t[0]) + t[1])


@settings(max_examples=600, deadline=None)
@given(resource=st.dictionaries(st.sampled_from(_KEYS), _json, min_size=1), text=_path)
@example(resource={"a": ["x", "b", 3]}, text="a[0:2]")
@example(resource={"a": [{"a": ["x"]}, None, {"a": "b"}]}, text="a[*].a|join:;")
def test_fhir_path_same_as_the_recursive_walk(resource: Any, text: str) -> None:
    path = FhirPath.compile(text)
    assert path.get(resource) == _reference_get(path, resource)
