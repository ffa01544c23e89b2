"""FHIR paths compiled to functions: the same values as the instruction loop."""

from __future__ import annotations

import pickle
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cpgraph.contract.fhirpath import FhirPath, _compile, _run

_KEYS = ["a", "b", "system", "value", "given"]
_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["", " ", "x", "s1", "P/1"])
)
_json = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4)
    ),
    max_leaves=25,
)
_bracket = st.one_of(
    st.just("*"),
    st.integers(-3, 3).map(str),
    st.tuples(st.sampled_from(["", "0", "1"]), st.sampled_from(["", "1", "2"])).map(":".join),
    st.tuples(st.sampled_from(_KEYS), st.sampled_from(["x", "s1", "1"])).map("=".join),
)
_segment = st.tuples(st.sampled_from(_KEYS), st.lists(_bracket, max_size=2)).map(
    lambda s: s[0] + "".join(f"[{b}]" for b in s[1])
)
_path = st.lists(_segment, min_size=1, max_size=4).map(".".join)


@settings(max_examples=400, deadline=None)
@given(path=_path, doc=_json)
def test_the_compiled_walk_is_the_instruction_loop(path: str, doc: Any) -> None:
    compiled = FhirPath.compile(path)
    assert compiled.walk(doc) == _run(doc, compiled.program, 0)
    for start in range(len(compiled.program)):
        # from any instruction on (what [*] runs on each item)
        assert _compile(compiled.program, start)(doc) == _run(doc, compiled.program, start)


def test_every_shipped_path_compiles_and_survives_pickling() -> None:
    health = Path(__file__).resolve().parents[3] / "loaders" / "health.toml"
    texts: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "paths" and isinstance(value, dict):
                    texts.extend(v for v in value.values() if isinstance(v, str))
                else:
                    collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(tomllib.loads(health.read_text(encoding="utf-8")))
    assert len(texts) > 20
    doc = {
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "943"}],
        "name": [{"given": ["A", "B", "C"], "family": "D"}, {"use": "maiden", "family": "E"}],
        "address": [{"line": ["1 High St", "Flat 2"], "postalCode": "B1 1AA"}],
        "participant": [{"individual": {"reference": "RelatedPerson/r1"}}, {}],
        "relationship": [{"coding": [{"code": "MTH"}]}],
    }
    for text in texts:
        path = FhirPath.compile(text)
        assert path.walk(doc) == _run(doc, path.program, 0)
        again = pickle.loads(pickle.dumps(path))  # noqa: S301 — made here
        assert again == path and again.get(doc) == path.get(doc)
