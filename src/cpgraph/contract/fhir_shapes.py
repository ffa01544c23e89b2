"""``fhir.resources`` validation, with each resource's structure validated once per shape.

A health extract holds hundreds of thousands of resources of a handful of types, and
most of them have one of a few dozen *shapes*: the same keys, in the same order, the
same nesting, lengths of lists of elements and nulls, only different values (a Patient
with one identifier, one name, a gender, a birth date and one address). A primitive
field's value (a string, or a list of them such as ``given``) is one value of the shape.
Validating a resource with its ``fhir.resources`` model runs, around every nested
element, ``fhir_core``'s Python wrappers (the model's ``__init__``, a before-check for
nulls in lists of elements, an after-check for required and choice fields): most of the
cost, and all of it decided by the structure alone. The values themselves are checked
by each field's own validator (patterns, dates...).

:class:`ShapeValidator` says whether ``model.model_validate(resource)`` would succeed,
with the same answer, doing the structural part once per shape:

- the first resource of a shape (per model class) is validated by the model itself;
  the shape is remembered only if it passes;
- a later resource of a remembered shape has every primitive field value checked by
  that field's validator, made by pydantic from the field's own annotation and
  metadata (a ``TypeAdapter``, with the model's configuration): if all pass it is
  valid; if any fails, or anything falls outside what is described below, the model
  itself validates the resource and its answer is the answer.

So the shortcut only ever *accepts*, and only where the model has accepted a resource
of the very same shape and every value passes the validator the model runs on it.
Why that is the model's answer (``fhir_core`` 1.1.12, pydantic 2; the tests check it):

- The shape records every key (in order), whether each value is null, and, for fields
  of element types, each list's length and the nested shapes; ``resourceType`` /
  ``resource_type`` values are kept verbatim (``__init__`` compares them with the
  model's type). Keys the model has no field for make the resource fall back.
- Every check ``fhir_core`` runs besides the field validators depends on that shape
  only: ``reject_null_complex_elements`` (a null in a list of elements),
  ``_validate_required_primitive_elements`` and ``_validate_one_of_many`` (whether
  fields are null after validation: a primitive value that validates to null makes the
  resource fall back), the resource-type check of ``__init__`` and of the element
  validator (the class at each position is the field's, fixed by the shape), pydantic's
  own missing and extra keys (``extra="forbid"``).
- Field validators do not look at other fields (``fhir_core``'s validators ignore
  their ``ValidationInfo``), so each value passes or fails on its own, as here.
- Only classes whose checks are all known are shortcut (:func:`_qualifies`): no field
  validator, no model validator but ``fhir_core``'s two and ``FHIRPrimitiveExtension``'s
  (whether its id, extension and comments are null: the shape), ``FHIRAbstractModel``'s
  own ``__init__`` and required and choice checks. A resource holding an element of any
  other class goes to the model.
- Element fields are followed only when their annotation is one element type, or a
  list of one, optionally ``| None`` (not polymorphic resources such as ``contained``,
  which choose their class by value); a value there that is not an object (or a list
  of objects) makes the resource fall back (``fhir_core`` would parse a string as JSON).
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any

from fhir_core.types import FhirBase, FhirElementOrResourceBase
from pydantic import TypeAdapter

#: A position's kind, in a class's plan.
_PRIMITIVE, _ELEMENT, _ELEMENTS, _VERBATIM = range(4)
_UNSEEN = object()


class _Fallback(Exception):  # noqa: N818 — a signal, not an error
    """The resource is outside what the shortcut handles: the model decides."""


def _element_type(tp: Any) -> Any:
    """The model class of a plain element type (not polymorphic), else None."""
    if (
        isinstance(tp, type)
        and issubclass(tp, FhirBase)
        and not issubclass(tp, FhirElementOrResourceBase)
    ):
        return tp.get_model_klass()
    return None


def _has_element(tp: Any) -> bool:
    if isinstance(tp, type) and issubclass(tp, FhirBase):
        return True
    return any(_has_element(arg) for arg in typing.get_args(tp))


def _without_none(tp: Any) -> Any:
    """``X`` for ``X | None`` / ``Optional[X]``; else ``tp``."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


#: The model validators whose outcome depends on the shape alone (see the module's text):
#: fhir_core's two (as it has them, or as cpgraph.contract.fhir_models works them out)
#: and FHIRPrimitiveExtension's "id, extension or comments" (whether they are null).
_SHAPE_VALIDATORS = {
    "reject_null_complex_elements": "FHIRAbstractModel.",
    "validate_after_model_construction": "FHIRAbstractModel.",
    "validate_extension_or_fhir_comment_required": "FHIRPrimitiveExtension.",
}


def _qualifies(cls: Any) -> bool:
    """Whether every check ``cls`` runs besides its fields' is one of those known above.

    A class with a validator of its own (a field validator, another model validator),
    its own ``__init__`` or its own required or choice check is never shortcut: its
    resources go to the model.
    """
    from fhir_core.fhirabstractmodel import FHIRAbstractModel  # noqa: PLC0415

    decorators = cls.__pydantic_decorators__
    if decorators.validators or decorators.field_validators or decorators.root_validators:
        return False
    for name, found in decorators.model_validators.items():
        owner = _SHAPE_VALIDATORS.get(name)
        if owner is None or found.cls_var_name != name:
            return False
        func = getattr(found.func, "__func__", found.func)
        if not getattr(func, "__qualname__", "").startswith(owner):
            return False
    return all(
        getattr(cls, n) is getattr(FHIRAbstractModel, n)
        for n in ("__init__", "_validate_one_of_many", "_validate_required_primitive_elements")
    )


def _position(cls: Any, name: str) -> tuple[Any, ...] | None:
    """How the field ``name`` of ``cls`` is followed, or None (fall back)."""
    field = cls.model_fields[name]
    tp = field.annotation
    if not _has_element(tp):
        annotated = Annotated[(tp, *field.metadata)] if field.metadata else tp
        config = {k: v for k, v in cls.model_config.items() if k != "title"}
        adapter = TypeAdapter(annotated, config=config)  # type: ignore[call-overload]
        # its core validator itself (what TypeAdapter.validate_python calls, with the
        # same defaults), one Python call less per value
        return (_PRIMITIVE, adapter.validator.validate_python)
    inner = _without_none(tp)
    model = _element_type(inner)
    if model is not None:
        return (_ELEMENT, model)
    if typing.get_origin(inner) is list:
        (item,) = typing.get_args(inner)
        model = _element_type(item)
        if model is not None:
            return (_ELEMENTS, model)
    return None


class ShapeValidator:
    """Whether ``model.model_validate(resource)`` succeeds, its structure checked once per shape.

    Not thread-safe; one per process (each FHIR worker has its own).
    """

    def __init__(self) -> None:
        # model class -> key -> (kind, ...) or None; built as keys are met
        self._plans: dict[Any, dict[str, tuple[Any, ...] | None]] = {}
        # model class -> shapes the model accepted
        self._valid: dict[Any, set[Any]] = {}
        self.shortcuts = 0  # resources accepted without the model (for the tests)

    def _plan(self, cls: Any, key: str) -> tuple[Any, ...] | None:
        """How ``key`` of an element of ``cls`` is followed: ``(kind, validator or class)``.

        None: the resource falls back (a key the model has no field for, or one that
        is one field's name and another's alias).
        """
        plan = self._plans.setdefault(cls, {})
        if key in plan:
            return plan[key]
        fields = cls.model_fields
        found: tuple[Any, ...] | None = None
        if not _qualifies(cls):
            pass  # always the model
        elif key == "resource_type" or (key == "resourceType" and key not in fields):
            found = (_VERBATIM, None)  # taken out and compared by FHIRAbstractModel.__init__
        else:
            aliases = [n for n, f in fields.items() if f.alias == key and n != key]
            by_name = [key] if key in fields else []
            if len(aliases + by_name) == 1:  # one field, by its alias or its name
                found = _position(cls, (aliases + by_name)[0])
        plan[key] = found
        return found

    def _shape(self, cls: Any, data: dict[str, Any]) -> tuple[Any, ...]:
        """The shape of ``data`` as an element of ``cls``; checks every primitive value.

        A field given twice (by its alias and by its name) has both values checked:
        the model checks one of them at most, and the shape (both keys) is the model's
        to accept first.

        Raises:
            _Fallback: anything the shortcut does not handle, or a value that fails.
        """
        plan = self._plans.get(cls) or {}
        parts: list[Any] = []
        for key, value in data.items():
            how = plan.get(key, _UNSEEN)
            if how is _UNSEEN:
                how = self._plan(cls, key)
            if how is None:
                raise _Fallback
            kind, arg = how
            if value is None:
                parts.append((key, None))
            elif kind == _PRIMITIVE:
                try:
                    out = arg(value)
                except Exception as exc:  # noqa: BLE001 — the model decides
                    raise _Fallback from exc
                if out is None:
                    raise _Fallback
                parts.append(key)
            elif kind == _ELEMENT:
                if type(value) is not dict:
                    raise _Fallback
                parts.append((key, self._shape(arg, value)))
            elif kind == _ELEMENTS:
                if type(value) is not list:
                    raise _Fallback
                items: list[Any] = []
                for item in value:
                    if item is None:
                        items.append(None)
                    elif type(item) is dict:
                        items.append(self._shape(arg, item))
                    else:
                        raise _Fallback
                parts.append((key, tuple(items)))
            else:  # _VERBATIM
                if type(value) is not str:
                    raise _Fallback
                parts.append((key, value))
        return tuple(parts)

    def validate(self, model: Any, resource: Any) -> bool:
        """Whether ``model.model_validate(resource)`` succeeds (the model's answer)."""
        shape = None
        if type(resource) is dict:
            try:
                shape = self._shape(model, resource)
            except _Fallback:
                shape = None
            except RecursionError:
                shape = None
            if shape is not None and shape in self._valid.get(model, ()):
                self.shortcuts += 1
                return True
        try:
            model.model_validate(resource)
        except Exception:  # noqa: BLE001 — any model failure means an invalid resource
            return False
        if shape is not None:
            self._valid.setdefault(model, set()).add(shape)
        return True
