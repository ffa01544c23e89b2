"""fhir_core's checks worked out per class once: the same outcome for every resource."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from cpgraph.contract import fhir_models
from tests.factories import make_population


@pytest.fixture
def original_check() -> Iterator[None]:
    """fhir_core's own checks for the test's first half; the faster ones again after."""
    fhir_models._restore()  # noqa: SLF001
    try:
        yield
    finally:
        assert all(fhir_models.speed_up_checks().values())


def _outcome(resource: dict[str, Any]) -> Any:
    """``"valid"``, or the validation errors (type, location, message) in order."""
    model = get_fhir_model_class(resource["resourceType"])
    try:
        model.model_validate(copy.deepcopy(resource))
    except ValidationError as exc:
        return [(e["type"], e["loc"], e["msg"]) for e in exc.errors()]
    return "valid"


def _patient(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "4394125308"}],
        "name": [{"use": "official", "family": "Tucker", "given": ["Danny", "Paul"]}],
        "address": [{"line": ["1 High St"], "postalCode": "B71 9WA"}],
        **extra,
    }


#: Resources with a null where fhir_core refuses one, and where it keeps one.
_EDGE_CASES: list[dict[str, Any]] = [
    _patient(),
    _patient(name=[None]),  # a null in a list of complex elements: refused
    _patient(identifier=[{"value": "1"}, None, {"value": "2"}]),
    _patient(name=[{"family": "A", "given": ["B", None]}]),  # primitive list: kept
    _patient(name=[{"family": "A", "given": [None], "_given": [{"id": "x"}]}]),
    _patient(address=[{"line": ["1 High St"], "period": None}]),
    _patient(contact=[{"name": {"family": "C"}, "telecom": [None]}]),  # nested
    _patient(contact=[None, {"name": {"family": "C"}}], name=[None]),  # two at once
    _patient(extension=[None]),
    # the after check: a choice ([x]) field given twice, nested too; a required primitive
    # missing, or given only as its extension
    _patient(deceasedBoolean=False, deceasedDateTime="2020-01-01"),
    _patient(extension=[{"url": "https://x", "valueString": "a", "valueBoolean": True}]),
    _patient(extension=[{"url": "https://x", "valueString": "a"}], multipleBirthInteger=2),
    {"resourceType": "Flag", "id": "f2", "code": {"text": "x"}, "subject": {"reference": "P/1"}},
    {
        "resourceType": "Flag",
        "id": "f3",
        "_status": {"extension": [{"url": "https://x", "valueCode": "active"}]},
        "code": {"text": "x"},
        "subject": {"reference": "Patient/p1"},
    },
    {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "AMB"},  # an aliased field (class_fhir)
        "participant": [None],
        "subject": {"reference": "Patient/p1"},
    },
    {
        "resourceType": "Encounter",
        "id": "e2",
        "status": "finished",
        "class": {"code": "AMB"},
        "reasonCode": [{"text": "fall", "coding": [None]}],
    },
    {"resourceType": "Flag", "id": "f1", "status": "active", "code": {"text": "x"}},
    {
        "resourceType": "RelatedPerson",
        "id": "r1",
        "patient": {"reference": "Patient/p1"},
        "relationship": [None],
    },
]


def _generated(tmp_path: Path) -> list[dict[str, Any]]:
    pop = make_population(tmp_path / "pop", households=25, seed=7)
    resources = []
    for folder in pop.extracts():
        for bundle in sorted(Path(folder).glob("bundles/*.json")):
            try:
                data = json.loads(bundle.read_text(encoding="utf-8"))
            except ValueError:
                continue  # the generator cuts a bundle short on purpose (quarantine)
            entries = data.get("entry") if isinstance(data, dict) else None
            resources += [
                e["resource"]
                for e in entries or []
                if isinstance(e, dict)
                and isinstance(e.get("resource"), dict)
                and isinstance(e["resource"].get("resourceType"), str)
                and e["resource"]["resourceType"]
                in ("Patient", "RelatedPerson", "Encounter", "Flag")
            ]
    return resources


def test_the_checks_are_the_ones_they_were_written_for() -> None:
    # fails after an upgrade of fhir_core that changes a check: compare the new original
    # with its replacement in contract/fhir_models.py, then update KNOWN_SOURCE_SHA256
    for name, digest in fhir_models.KNOWN_SOURCE_SHA256.items():
        assert fhir_models.source_digest(name) == digest, name
    assert fhir_models.speed_up_checks() == dict.fromkeys(fhir_models.KNOWN_SOURCE_SHA256, True)
    assert all(fhir_models.speed_up_checks().values())  # idempotent


def test_every_resource_gets_the_same_outcome_both_ways(
    tmp_path: Path,
    original_check: None,  # noqa: ARG001 — fhir_core's own check first
) -> None:
    resources = _EDGE_CASES + _generated(tmp_path)
    before = [_outcome(r) for r in resources]
    assert all(fhir_models.speed_up_checks().values())
    after = [_outcome(r) for r in resources]
    assert after == before
    refused = [b for b in before[: len(_EDGE_CASES)] if b != "valid"]
    assert len(refused) >= 8  # the nulls the check is for are refused, both ways
    assert any(
        loc == ("name",) and "None is not allowed" in msg for r in refused for _, loc, msg in r
    )
    assert before[0] == "valid" and before[3] == "valid"  # a null among given names stays
    assert sum(b == "valid" for b in before[len(_EDGE_CASES) :]) > 100


def test_the_faster_checks_run_in_every_model_class() -> None:
    assert all(fhir_models.speed_up_checks().values())
    model = get_fhir_model_class("Patient")
    model.model_validate(_patient(deceasedBoolean=False))
    fields = model.reject_null_complex_elements.__func__.__defaults__[0]
    assert {"Patient", "HumanName", "Identifier", "Address"} <= {c.__name__ for c in fields}
    assert ("name", "name") in fields[model] or ("name", None) in fields[model]
    nothing = model.validate_after_model_construction.__defaults__[0]
    assert nothing[model] is False  # deceased[x], multipleBirth[x]: the original check runs
    assert {c.__name__ for c, v in nothing.items() if v} >= {"HumanName", "Identifier"}
    # a choice field given twice is still refused, through the original after check
    with pytest.raises(ValidationError, match="multiple"):
        model.model_validate(_patient(deceasedBoolean=False, deceasedDateTime="2020-01-01"))
