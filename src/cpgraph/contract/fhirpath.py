"""Paths into FHIR resources, as the health mapping (``loaders/health.toml``) writes them.

Part of the contract: the validator checks, and the loaders read, the same elements of
each resource (``identifier[system=...].value``, ``name[0].given[1:]|join: ``...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_SEGMENT_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\]]*\])*)\.?")
_BRACKET_RE = re.compile(r"\[([^\]]*)\]")


# Instructions of a compiled path (see FhirPath.program).
_KEY, _INDEX, _SLICE, _MATCH, _EACH = range(5)


def _run_nothing(value: Any) -> Any:  # pragma: no cover - replaced in __post_init__
    return None


def _lower(steps: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[tuple[Any, ...], ...]:
    """Turn parsed steps into a flat list of instructions (raises ValueError on a bad bracket)."""
    program: list[tuple[Any, ...]] = []
    for name, brackets in steps:
        program.append((_KEY, name))
        for br in brackets:
            if br == "*":
                program.append((_EACH,))
            elif "=" in br:
                key, _, want = br.partition("=")
                program.append((_MATCH, key, want))
            elif ":" in br:
                lo, _, hi = br.partition(":")
                program.append((_SLICE, int(lo or 0), int(hi) if hi else None))
            else:
                program.append((_INDEX, int(br)))
    return tuple(program)


def _compile(program: tuple[tuple[Any, ...], ...], start: int = 0) -> Callable[[Any], Any]:
    """``program[start:]`` as one Python function: what :func:`_run` does, without its loop.

    The instructions become straight-line code (a FHIR load runs a dozen paths on every
    resource); constants are passed in the function's namespace, never written into its
    source. ``[*]`` runs the rest, compiled the same way, on every item.
    """
    consts: dict[str, Any] = {}
    lines = ["def walk(value):"]
    for k in range(start, len(program)):
        ins = program[k]
        op = ins[0]
        if op == _KEY:
            consts[f"k{k}"] = ins[1]
            lines.append(f"    value = value.get(k{k}) if isinstance(value, dict) else None")
            continue
        lines.append("    if not isinstance(value, list):")
        lines.append("        return None")
        if op == _INDEX:
            consts[f"i{k}"] = ins[1]
            lines.append(f"    value = value[i{k}] if -len(value) <= i{k} < len(value) else None")
        elif op == _MATCH:
            consts[f"k{k}"], consts[f"w{k}"] = ins[1], ins[2]
            lines += [
                "    for item in value:",
                f"        if isinstance(item, dict) and item.get(k{k}) == w{k}:",
                "            value = item",
                "            break",
                "    else:",
                "        value = None",
            ]
        elif op == _SLICE:
            consts[f"a{k}"], consts[f"b{k}"] = ins[1], ins[2]
            lines.append(f"    value = value[a{k}:b{k}]")
        else:  # _EACH: the rest on every item, flattened
            consts[f"rest{k}"] = _compile(program, k + 1)
            lines += [
                "    out = []",
                "    for item in value:",
                f"        got = rest{k}(item)",
                "        if isinstance(got, list):",
                "            out.extend(got)",
                "        elif got is not None:",
                "            out.append(got)",
                "    return out",
            ]
            break
    else:
        lines.append("    return value")
    namespace: dict[str, Any] = {"isinstance": isinstance, "len": len, "dict": dict, "list": list}
    namespace.update(consts)
    exec("\n".join(lines), namespace)  # noqa: S102 — source made above from fixed lines
    walk: Callable[[Any], Any] = namespace["walk"]
    return walk


@dataclass(frozen=True, slots=True)
class FhirPath:
    """A compiled path into a FHIR resource (syntax in ``loaders/health.toml``).

    Attributes:
        steps: ``(element name, its brackets)`` per dotted segment.
        ops: the ``|name:arg`` operations applied to the result.
        fallback: the path after ``|or:``, read when this one gives nothing.
        program: ``steps`` as flat instructions (derived).
        walk: ``program`` compiled to a function, which :meth:`get` runs (derived; the
            same as :func:`_run` of the program).
    """

    steps: tuple[tuple[str, tuple[str, ...]], ...]
    ops: tuple[tuple[str, str], ...]
    fallback: FhirPath | None = None
    program: tuple[tuple[Any, ...], ...] = field(default=(), compare=False, repr=False)
    walk: Callable[[Any], Any] = field(default=_run_nothing, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Derive the instructions from the steps, and their function."""
        try:
            program = _lower(self.steps)
        except ValueError as exc:
            raise ValueError(f"bad FHIR path bracket in {self.steps!r}") from exc
        object.__setattr__(self, "program", program)
        object.__setattr__(self, "walk", _compile(program))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its steps (the derived function is made again)."""
        return (FhirPath, (self.steps, self.ops, self.fallback))

    @classmethod
    def compile(cls, text: str) -> FhirPath:
        """Parse a path such as ``identifier[system=https://x].value|join:, ``.

        ``A|or:B`` reads ``B`` where ``A`` gives nothing (e.g. the coding of a known
        system, else the first coding).
        """
        text, _, alternative = text.partition("|or:")
        fallback = cls.compile(alternative) if alternative else None
        path, *ops = text.split("|")
        steps = []
        pos = 0
        while pos < len(path):
            m = _SEGMENT_RE.match(path, pos)
            if not m or m.end() == pos:
                raise ValueError(f"bad FHIR path {text!r}")
            steps.append((m.group(1), tuple(_BRACKET_RE.findall(m.group(2)))))
            pos = m.end()
        parsed_ops = []
        for op in ops:
            name, _, arg = op.partition(":")
            if name not in ("join", "ref"):
                raise ValueError(f"bad FHIR path operation {op!r}")
            parsed_ops.append((name, arg))
        return cls(tuple(steps), tuple(parsed_ops), fallback)

    def get(self, resource: Any) -> str | None:
        """Evaluate against a resource (a dict); return a string or ``None``."""
        value = self.walk(resource)
        if type(value) is str and not self.ops:  # the common case, checked first
            if "\x00" in value:
                value = value.replace("\x00", "\ufffd")
            if value.strip():
                return value
            value = None
        else:
            value = self._finish(value)
        if value is None and self.fallback is not None:
            return self.fallback.get(resource)
        return value

    def _finish(self, value: Any) -> str | None:
        """The value the walk found, as a string (operations applied) or ``None``."""
        for name, arg in self.ops:
            if name == "ref":
                value = _ref(value, arg)
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
        # The store cannot carry NUL; JSON may (as \\u0000).
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
        return value if value.strip() else None


def _run(value: Any, program: tuple[tuple[Any, ...], ...], start: int) -> Any:
    """Run a path's instructions from ``start`` on ``value``.

    An element name on a non-object gives nothing; a bracket on a non-list
    ends the walk with nothing; ``[*]`` runs the rest on every item and
    flattens what they give (nothing is left out).
    """
    for k in range(start, len(program)):
        ins = program[k]
        op = ins[0]
        if op == _KEY:
            value = value.get(ins[1]) if isinstance(value, dict) else None
            continue
        if not isinstance(value, list):
            return None
        if op == _INDEX:
            idx = ins[1]
            value = value[idx] if -len(value) <= idx < len(value) else None
        elif op == _MATCH:
            key, want = ins[1], ins[2]
            value = next((v for v in value if isinstance(v, dict) and v.get(key) == want), None)
        elif op == _SLICE:
            value = value[ins[1] : ins[2]]
        else:  # _EACH
            out: list[Any] = []
            for item in value:
                got = _run(item, program, k + 1)
                if isinstance(got, list):
                    out.extend(got)
                elif got is not None:
                    out.append(got)
            return out
    return value


def _ref(value: Any, rtype: str) -> str | None:
    """Take ``{id}`` out of ``{rtype}/{id}`` (from a list: the first that matches)."""
    prefix = f"{rtype}/"
    candidates = value if isinstance(value, list) else [value]
    for v in candidates:
        if isinstance(v, str) and v.startswith(prefix) and len(v) > len(prefix):
            return v[len(prefix) :]
    for v in candidates:
        if isinstance(v, str) and v.strip():
            # A reference to something else: keep it recognisably unresolvable.
            return f"?{v}"
    return None
