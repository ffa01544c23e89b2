"""The same FHIR validation, with two of ``fhir_core``'s checks worked out per class once.

``fhir_core`` (the base of ``fhir.resources``) runs two checks of its own around every
model of a resource, nested ones included (a Patient's names, identifiers,
addresses...), and both redo, for each element, work that depends only on its class:

- ``reject_null_complex_elements`` (before validation) walks *every* field of the
  class to find its lists of complex elements, then looks whether any holds a null:
  about 30 % of the CPU of validating a resource, the largest single cost of a health
  load;
- ``validate_after_model_construction`` (after it; pydantic runs it twice per nested
  element) asks the class for its required primitive fields and its choice (``[x]``)
  fields and walks them, though most classes (HumanName, Identifier, Reference...)
  have none: about 15 % more.

:func:`speed_up_checks` keeps, per class, the fields the first looks at and whether
the second has anything to do. They are the same checks with the same outcome: an
element with no null in those lists passes as before, one that has such a null is
handed to the original code, which raises the very same error; a class with required
or choice fields runs the original second check. Nothing is skipped (every model is
still validated by its ``fhir.resources`` class).

This changes functions of another package, so it is done only where each is exactly
the one it was written for (its source, compared by digest): after an upgrade of
``fhir_core`` that changes one, that one's original runs, unchanged, and
``tests/unit/contract/test_fhir_models.py`` fails to say so.
"""

from __future__ import annotations

import hashlib
import inspect
import types
from collections.abc import Callable
from typing import Any

#: sha256 of ``inspect.getsource`` of each replaced ``FHIRAbstractModel`` method in
#: fhir_core 1.1.12, the version the replacements were written for.
KNOWN_SOURCE_SHA256 = {
    "reject_null_complex_elements": (
        "d0d0200524d20d337433d62ea06bc4f14c0b76c50555dcfaa0282bf5cdf85350"
    ),
    "validate_after_model_construction": (
        "016ab95ff060a75a1c85d30dc016014fbbf62f83791ca20204f8d6daec265edb"
    ),
}

#: name -> the original function, kept as a copy while its replacement is in place.
_originals: dict[str, types.FunctionType] = {}


def _complex_list_fields(cls: Any) -> tuple[tuple[str, str | None], ...]:
    """``(name, alias)`` of the fields the original null check looks at, for ``cls``."""
    from fhir_core.utils import is_list_type, is_primitive_type  # noqa: PLC0415

    return tuple(
        (name, field.alias)
        for name, field in cls.model_fields.items()
        if is_list_type(field) and not is_primitive_type(field) and not name.endswith("__ext")
    )


def _nothing_after(model: Any) -> bool:
    """Whether the after check has nothing to look at in ``model``'s class."""
    from fhir_core.fhirabstractmodel import FHIRAbstractModel  # noqa: PLC0415

    cls = type(model)
    own = all(
        getattr(cls, n) is getattr(FHIRAbstractModel, n)
        for n in ("_validate_required_primitive_elements", "_validate_one_of_many")
    )
    return own and not model.get_required_fields() and not model.get_one_of_many_fields()


def _reject_null_complex_elements(
    cls: Any,
    data: Any,
    _cache: dict[Any, tuple[tuple[str, str | None], ...]] | None = None,
    _fields: Any = None,
    _original: Any = None,
) -> Any:
    """The null check, over the fields found once per class.

    Runs as the body of ``fhir_core``'s own function (its code object is swapped in),
    so it names no global: what it needs comes in as defaults, bound at install.
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


def _validate_after_model_construction(
    self: Any, _cache: dict[Any, bool] | None = None, _nothing: Any = None, _original: Any = None
) -> Any:
    """The after check, only for classes that have required or choice fields (as above)."""
    cls = self.__class__
    nothing = _cache.get(cls)  # type: ignore[union-attr]
    if nothing is None:
        nothing = _cache[cls] = _nothing(self)  # type: ignore[index,misc]
    if nothing:
        return self
    return _original(self)  # type: ignore[misc]


#: name -> (replacement, what it is given besides its cache).
_REPLACEMENTS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "reject_null_complex_elements": (_reject_null_complex_elements, _complex_list_fields),
    "validate_after_model_construction": (_validate_after_model_construction, _nothing_after),
}


def _function(name: str) -> Any:
    """The function object every model class's compiled validator calls for ``name``."""
    from fhir_core.fhirabstractmodel import FHIRAbstractModel  # noqa: PLC0415

    member = FHIRAbstractModel.__dict__[name]
    return member.__func__ if isinstance(member, classmethod) else member


def source_digest(name: str) -> str:
    """sha256 of the source of ``fhir_core``'s own ``FHIRAbstractModel.<name>`` here."""
    func = _originals.get(name) or _function(name)
    return hashlib.sha256(inspect.getsource(func).encode("utf-8")).hexdigest()


def speed_up_checks() -> dict[str, bool]:
    """Put the per-class checks in place (idempotent); which ones are.

    Returns:
        name -> whether its faster form is in place (False: ``fhir_core``'s
        function is not the one it was written for, and runs unchanged).
    """
    done = {}
    for name, (replacement, helper) in _REPLACEMENTS.items():
        if name in _originals:
            done[name] = True
            continue
        if source_digest(name) != KNOWN_SOURCE_SHA256[name]:
            done[name] = False
            continue
        func = _function(name)
        # Every model class's compiled validator calls this very function object (bound
        # to its class), so its code is what changes; the original lives on as a copy.
        original = types.FunctionType(
            func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__
        )
        _originals[name] = original
        func.__defaults__ = ({}, helper, original)
        func.__code__ = replacement.__code__
        done[name] = True
    return done


def _restore() -> None:
    """Put ``fhir_core``'s own checks back (tests compare the two)."""
    for name, original in list(_originals.items()):
        func = _function(name)
        func.__code__ = original.__code__
        func.__defaults__ = original.__defaults__
        del _originals[name]
