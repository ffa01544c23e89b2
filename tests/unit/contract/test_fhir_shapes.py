"""Validation once per shape: the model's answer for every resource, shortcut or not."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from cpgraph.contract.fhir_shapes import ShapeValidator
from tests.unit.contract.test_fhir_models import _EDGE_CASES, _generated, _patient


def _valid(resource: Any, kind: str | None = None) -> bool:
    model = get_fhir_model_class(kind or resource["resourceType"])
    try:
        model.model_validate(copy.deepcopy(resource))
    except Exception:  # noqa: BLE001 — any failure is "invalid"
        return False
    return True


def _check(shapes: ShapeValidator, resource: dict[str, Any], kind: str | None = None) -> bool:
    model = get_fhir_model_class(kind or resource["resourceType"])
    before = copy.deepcopy(resource)
    got = shapes.validate(model, resource)
    assert resource == before  # the resource is not changed
    return got


#: Values put in place of each value of a valid resource (same shape, other values).
_ODD_VALUES: list[Any] = [
    "",
    " ",
    "  x",
    "x  y",
    "a\tb",
    "31/12/2010",
    "2010-02-30",
    "2010-13",
    "2010",
    "2020-01-01T10:00:00",
    "2020-01-01T10:00:00Z",
    "p_1",
    "true",
    "yes",
    "2",
    5,
    0,
    5.5,
    True,
    "a\x00b",
    "Patient/p1",
    "http://x y",
]


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths to every non-container value (list items included)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, (*path, i))
    else:
        yield path


def _replaced(resource: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    out = copy.deepcopy(resource)
    target: Any = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return out


def test_same_answer_as_the_model_for_every_value_in_every_position(tmp_path: Path) -> None:
    generated = _generated(tmp_path)
    bases = [r for r in _EDGE_CASES if _valid(r)]
    # one valid resource of each type and of a few shapes: every value replaced in turn
    seen: set[tuple[str, int]] = set()
    for r in generated:
        sig = (r["resourceType"], len(list(_leaves(r))))
        if sig not in seen and _valid(r):
            seen.add(sig)
            bases.append(r)
    assert len(bases) >= 8
    shapes = ShapeValidator()
    compared = accepted_by_shortcut = refused = 0
    for base in bases:
        assert _check(shapes, base) is True  # learns the shape
        for path in _leaves(base):
            for new in _ODD_VALUES:
                variant = _replaced(base, path, new)
                before = shapes.shortcuts
                kind = base["resourceType"]  # the model of the base (its type may change)
                got = _check(shapes, variant, kind)
                assert got == _valid(variant, kind), (path, new, variant)
                compared += 1
                refused += not got
                accepted_by_shortcut += shapes.shortcuts - before
    assert compared > 1000
    assert accepted_by_shortcut > 300  # the shortcut ran, and accepted only what is valid
    assert refused > 300  # ... and the odd values the model refuses are refused


def test_edge_cases_and_a_generated_population_get_the_models_answer(tmp_path: Path) -> None:
    resources = _EDGE_CASES + _generated(tmp_path)
    shapes = ShapeValidator()
    got = [_check(shapes, r) for r in resources]
    # twice: the second time every shape is known
    again = [_check(shapes, r) for r in resources]
    want = [_valid(r) for r in resources]
    assert got == want and again == want
    assert shapes.shortcuts > len(resources) // 2
    assert want.count(False) >= 8


def test_what_the_shortcut_does_not_handle_goes_to_the_model() -> None:
    shapes = ShapeValidator()
    model = get_fhir_model_class("Patient")
    assert shapes.validate(model, _patient()) is True
    cases = [
        _patient(resourceType="Person"),  # the type is compared by the model
        _patient(resource_type="Patient"),
        _patient(resource_type="Person"),
        _patient(resourceType=5),
        _patient(name=[{"family": "A", "resourceType": "HumanName"}]),
        _patient(name=[{"family": "A", "resourceType": "Patient"}]),
        _patient(unknown=1),  # a key the model has no field for
        _patient(name="Tucker"),  # a string where elements are expected
        _patient(name=["Tucker"]),
        _patient(contained=[{"resourceType": "Patient", "id": "c1"}]),  # polymorphic
        _patient(contained=[{"resourceType": "Nonsense", "id": "c1"}]),
        _patient(managingOrganization='{"reference": "Organization/o1"}'),  # JSON text
        _patient(_birthDate={"extension": [{"url": "https://x", "valueString": "a"}]}),
        _patient(birthDate=None),
        _patient(deceasedBoolean=False, deceasedDateTime="2020-01-01"),
        _patient(deceasedBoolean="false"),
        _patient(name=[{"family": "A", "given": ["B", None]}]),
        _patient(name=[{"family": "A", "given": [None], "_given": [{"id": "x"}]}]),
        {"resourceType": "Encounter", "id": "e", "status": "finished", "class": {"code": "A"}},
        {
            "resourceType": "Encounter",
            "id": "e",
            "status": "finished",
            "class": {"code": "A"},
            "class_fhir": {"code": "B"},  # one field by its alias and its name
        },
        {"resourceType": "Encounter", "id": "e", "status": "finished"},  # class is required
    ]
    for case in cases:
        kind = "Encounter" if "class" in case or "status" in case else "Patient"
        for _ in range(2):  # the second time its shape may be known
            assert _check(shapes, case, kind) == _valid(case, kind), case


def test_a_model_with_a_check_of_its_own_is_never_shortcut() -> None:
    from fhir.resources.R4B.humanname import HumanName  # noqa: PLC0415
    from pydantic import field_validator  # noqa: PLC0415

    from cpgraph.contract.fhir_shapes import _qualifies  # noqa: PLC0415

    class ShoutedName(HumanName):
        @field_validator("family")
        @classmethod
        def shouted(cls, value: str) -> str:
            if value != value.upper():
                raise ValueError("not shouted")
            return value

    assert _qualifies(HumanName) and not _qualifies(ShoutedName)
    shapes = ShapeValidator()
    assert shapes.validate(ShoutedName, {"family": "TUCKER"}) is True
    # the same shape, a value only the class's own validator refuses: the model decides
    assert shapes.validate(ShoutedName, {"family": "Tucker"}) is False
    assert shapes.validate(ShoutedName, {"family": "SMITH"}) is True
    assert shapes.shortcuts == 0
