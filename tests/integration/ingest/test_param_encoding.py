"""FalkorDB parameter encoding and write ordering, checked against the real server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from falkordb.helpers import stringify_param_value
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpgraph.ingest.writer import RECORD_COLUMNS
from cpgraph.store import GraphStore
from cpgraph.store.falkordb import encode_param, params_header

pytestmark = pytest.mark.integration

# Every character a value can carry: control characters, quotes, backslashes,
# accents, CJK, emoji... (not NUL — the store cannot hold it and the loader
# replaces it — and not lone surrogates, which are not UTF-8).
_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30)
_TRICKY = st.sampled_from(
    ['"', "\\", '\\"', '":', ',"a":', "\\u0041", "\n", "\r\n", "\t", "\x01", "\x1f", "\x7f",
     "\u2028", "Zoë", "Nowak-Łukasik", "O'Neil", "`", "{", "}", "[", "]", "日本", "😀"]
)  # fmt: skip
_STRINGS = st.lists(st.one_of(_TEXT, _TRICKY), max_size=4).map("".join)
_KEYS = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00`"), min_size=1),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    # The server prints doubles with 15 significant digits, whichever way they came in.
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: float(f"{f:.12g}")),
    _STRINGS,
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=20,
)


async def _echo(store: GraphStore, value: Any, *, library: bool = False) -> Any:
    graph = store._graph  # type: ignore[attr-defined]
    header = f"CYPHER x={stringify_param_value(value)} " if library else params_header({"x": value})
    result = await graph.ro_query(header + "RETURN $x", None)
    return result.result_set[0][0]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@pytest.fixture
async def echo_store(falkordb_store: GraphStore) -> GraphStore:
    """A store whose graph exists (read-only queries fail on a missing graph)."""
    await falkordb_store._graph.query("CREATE (:EncodingProbe)")  # type: ignore[attr-defined]
    return falkordb_store


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_VALUES)
async def test_every_value_round_trips(echo_store: GraphStore, value: Any) -> None:
    got = _plain(await _echo(echo_store, value))
    assert got == value
    assert got == _plain(await _echo(echo_store, value, library=True))


@pytest.mark.parametrize(
    "value",
    [
        [["k:1", 'he said "hi"', None, True, 3, 1.5, ["a", "b"], {"school_urn": "1\\2"}]],
        "tab\there\nnewline\rreturn\x08back\x0cfeed",
        "\x01\x02 raw control characters",
        "a\\u0041 is not an escape",
        {"a b": 1, "ok": [1, {"nested key": "x"}]},
        '":' * 3,
        "",
        [],
        {},
    ],
)
async def test_tricky_values_round_trip(echo_store: GraphStore, value: Any) -> None:
    assert _plain(await _echo(echo_store, value)) == value


def test_same_text_as_the_library_where_both_apply() -> None:
    row = ["s:pupil:A1", "Zoë", None, True, False, 7, [1, "x"], {"urn": "1"}]
    assert encode_param(row) == stringify_param_value(row).replace("True", "true").replace(
        "False", "false"
    )
    # What JSON cannot say in FalkorDB's grammar goes through the library.
    assert encode_param("\x01") == stringify_param_value("\x01")
    assert encode_param(float("nan")) == stringify_param_value(float("nan"))
    assert encode_param({"a b": 1}) == stringify_param_value({"a b": 1})


def test_bad_parameter_names_are_refused() -> None:
    with pytest.raises(ValueError):
        params_header({"": 1})
    with pytest.raises(ValueError):
        params_header({"a`b": 1})
    assert params_header({}) == ""
    assert params_header({"rows": [1]}) == "CYPHER `rows`=[1] "


async def test_concurrent_writes_reach_the_server_in_order(falkordb_store: GraphStore) -> None:
    """The loader keeps a batch queued behind the one running: edges must find their ends."""

    def record(key: str) -> list[Any]:
        row: list[Any] = [None] * len(RECORD_COLUMNS)
        row[0], row[1], row[32] = key, "order-test", "h"
        return row

    for round_ in range(5):
        keys = [f"order-test:p:{round_}-{i}" for i in range(1500)]
        rels = [
            [keys[i], keys[i + 1], f"k{round_}-{i}", "sibling", None, None, None, None, "s", "l"]
            for i in range(0, len(keys) - 1, 2)
        ]
        writes = falkordb_store.ordered_writes()  # type: ignore[attr-defined]
        await asyncio.gather(
            writes.execute("ingest_records_upsert", rows=[record(k) for k in keys]),
            writes.execute("ingest_relationships_upsert", rows=rels),
        )
    edges = [r for r in await falkordb_store.query("ingest_snapshot_edges")]
    assert sum(e["type"] == "STATED_RELATIONSHIP" for e in edges) == 5 * 750
