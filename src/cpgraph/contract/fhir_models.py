"""The same FHIR validation, with one of ``fhir_core``'s checks made per class once.

``fhir_core`` (the base of ``fhir.resources``) runs ``reject_null_complex_elements``
before validating every model of a resource, nested ones included (a Patient's
names, identifiers, addresses...): it walks *every* field of the model's class to
find the lists of complex elements, then looks whether any of them holds a null.
The fields are those of the class, the same every time, but the walk is redone for
each element: about 30 % of the CPU of validating a resource, the largest single
cost of a health load.

:func:`speed_up_null_check` keeps the walk's result per class and checks only
those fields. It is the same check, with the same outcome: a resource with no null
in those lists passes as before; one that has such a null is handed to the original
code, which raises the very same error. Nothing is skipped (every model is still
validated by its ``fhir.resources`` class).

This changes a function of another package, so it is done only where that function
is exactly the one it was written for (its source, compared by digest): after an
upgrade of ``fhir_core`` that changes it, the original runs, unchanged, and
``tests/unit/contract/test_fhir_models.py`` fails to say so.
"""

from __future__ import annotations

import hashlib
import inspect
import types
from typing import Any

#: sha256 of ``inspect.getsource`` of ``FHIRAbstractModel.reject_null_complex_elements``
#: in fhir_core 1.1.12, the version this replacement was written for.
KNOWN_SOURCE_SHA256 = "d0d0200524d20d337433d62ea06bc4f14c0b76c50555dcfaa0282bf5cdf85350"

_state: dict[str, Any] = {"installed": False}


def _complex_list_fields(cls: Any) -> tuple[tuple[str, str | None], ...]:
    """``(name, alias)`` of the fields the original check looks at, for ``cls``."""
    from fhir_core.utils import is_list_type, is_primitive_type  # noqa: PLC0415

    return tuple(
        (name, field.alias)
        for name, field in cls.model_fields.items()
        if is_list_type(field) and not is_primitive_type(field) and not name.endswith("__ext")
    )


def _reject_null_complex_elements(
    cls: Any,
    data: Any,
    _cache: dict[Any, tuple[tuple[str, str | None], ...]] | None = None,
    _fields: Any = None,
    _original: Any = None,
) -> Any:
    """The check, over the fields found once per class (the three last are bound at install).

    Runs as the body of ``fhir_core``'s own function (its code object is swapped in), so
    it names no global: what it needs comes in as defaults.
    """
    if not isinstance(data, dict):
        return data
    fields = _cache.get(cls)  # type: ignore[union-attr]
    if fields is None:
        fields = _cache[cls] = _fields(cls)  # type: ignore[index,misc]
    for name, alias in fields:
        value = data.get(alias if alias and alias in data else name)
        if isinstance(value, list) and any(item is None for item in value):
            return _original(cls, data)  # type: ignore[misc]  # raises its own error
    return data


def source_digest() -> str:
    """sha256 of the source of ``fhir_core``'s own ``reject_null_complex_elements`` here."""
    from fhir_core.fhirabstractmodel import FHIRAbstractModel  # noqa: PLC0415

    func = (
        _state.get("original")
        or FHIRAbstractModel.__dict__["reject_null_complex_elements"].__func__
    )
    return hashlib.sha256(inspect.getsource(func).encode("utf-8")).hexdigest()


def speed_up_null_check() -> bool:
    """Make ``reject_null_complex_elements`` look at each class's fields once (idempotent).

    Returns:
        Whether the faster check is in place (False: ``fhir_core`` is not the
        version it was written for; its own check runs).
    """
    if _state["installed"]:
        return True
    from fhir_core.fhirabstractmodel import FHIRAbstractModel  # noqa: PLC0415

    if source_digest() != KNOWN_SOURCE_SHA256:
        return False
    func = FHIRAbstractModel.__dict__["reject_null_complex_elements"].__func__
    # Every model class's compiled validator calls this very function object (bound to
    # its class), so its code is what changes; the original code lives on as a copy.
    original = types.FunctionType(
        func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__
    )
    _state["original"] = original
    func.__defaults__ = ({}, _complex_list_fields, original)
    func.__code__ = _reject_null_complex_elements.__code__
    _state["installed"] = True
    return True


def _restore() -> None:
    """Put ``fhir_core``'s own check back (tests compare the two)."""
    original = _state.get("original")
    if original is None:
        return
    from fhir_core.fhirabstractmodel import FHIRAbstractModel  # noqa: PLC0415

    func = FHIRAbstractModel.__dict__["reject_null_complex_elements"].__func__
    func.__code__ = original.__code__
    func.__defaults__ = original.__defaults__
    _state["installed"] = False
    del _state["original"]
