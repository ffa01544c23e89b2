"""Backend contract: the same behaviour from every GraphStore adapter."""

from __future__ import annotations

import pytest

from cpgraph.errors import ConstraintViolationError, RegistryError, UnknownQueryError
from cpgraph.store import GraphStore

pytestmark = pytest.mark.integration


def _mention(key: str, forename: str, surname: str, **extra: object) -> dict[str, object]:
    return {
        "key": key,
        "system": key.split(":")[0],
        "kind": key.split(":")[1],
        "forename": forename,
        "surname": surname,
        "name_text": f"{forename} {surname}",
        **extra,
    }


async def test_bootstrap_twice_is_idempotent(store: GraphStore) -> None:
    # The fixture bootstrapped once already: a second run creates nothing new.
    assert await store.bootstrap() == []
    constraints = await store.query("constraints_list")
    labels = {r["label"] for r in constraints}
    assert {"SourceRecord", "Person", "Event"} <= labels


async def test_upsert_is_idempotent(store: GraphStore) -> None:
    rows = [_mention(f"sys-a:nominal:{i}", "Amy", f"Surname{i}") for i in range(25)]
    first = await store.write_batches("source_records_upsert", rows, batch_size=10)
    assert first.batches == 3 and first.rows == 25
    assert first.nodes_created == 25
    again = await store.write_batches("source_records_upsert", rows, batch_size=10)
    assert again.nodes_created == 0
    stats = await store.stats()
    assert stats.nodes == {"SourceRecord": 25}
    # An update by key changes the mention in place and keeps other properties.
    await store.execute(
        "source_records_upsert", rows=[{"key": "sys-a:nominal:3", "surname": "Changed"}]
    )
    got = await store.query("source_record_get", key="sys-a:nominal:3")
    assert got[0]["record"]["surname"] == "Changed"
    assert got[0]["record"]["forename"] == "Amy"
    assert (await store.stats()).nodes == {"SourceRecord": 25}


async def test_bounded_variable_length_traversal(store: GraphStore) -> None:
    keys = [f"cs:person:{i}" for i in range(6)]
    await store.execute("source_records_upsert", rows=[_mention(k, "N", "Chain") for k in keys])
    # A chain 0-1-2-3-4-5.
    edges = [
        {
            "from_key": keys[i],
            "to_key": keys[i + 1],
            "source_key": f"rel-{i}",
            "relationship": "sibling",
            "lives_with": True,
            "from_date": None,
            "to_date": None,
            "system": "cs",
        }
        for i in range(5)
    ]
    summary = await store.write_batches("stated_relationships_upsert", edges)
    assert summary.relationships_created == 5
    near = await store.query("record_neighbourhood", key=keys[0], max_hops=2)
    assert [(r["key"], r["hops"]) for r in near] == [(keys[1], 1), (keys[2], 2)]
    far = await store.query("record_neighbourhood", key=keys[0], max_hops=3)
    # The pattern is bounded at 3 hops: keys[4] and keys[5] are never reached.
    assert [r["key"] for r in far] == keys[1:4]


async def test_full_text_search_finds_names(store: GraphStore) -> None:
    await store.execute(
        "source_records_upsert",
        rows=[
            _mention("p:nominal:1", "Oluwaseun", "Oyelaran"),
            _mention("p:nominal:2", "John", "Smith"),
            _mention("p:nominal:3", "Jane", "Smith"),
        ],
    )
    hits = await store.query("fulltext_person_names", text="Oyelaran", limit=10)
    assert [h["key"] for h in hits] == ["p:nominal:1"]
    smiths = await store.query("fulltext_person_names", text="Smith", limit=10)
    assert {h["key"] for h in smiths} == {"p:nominal:2", "p:nominal:3"}
    assert all(h["score"] > 0 for h in smiths)


async def test_uniqueness_constraint_rejects_duplicate(store: GraphStore) -> None:
    await store.query("person_create", person_id="P000001", created_at="2026-11-27")
    with pytest.raises(ConstraintViolationError) as info:
        await store.query("person_create", person_id="P000001", created_at="2026-11-27")
    assert info.value.query_name == "person_create"
    # The message names the query, never the duplicated value.
    assert "P000001" not in str(info.value)
    assert (await store.stats()).nodes == {"Person": 1}


async def test_unknown_query_and_wrong_params_fail_fast(store: GraphStore) -> None:
    before = store.round_trips
    with pytest.raises(UnknownQueryError):
        await store.query("no_such_query")
    with pytest.raises(RegistryError, match="missing \\['max_hops'\\]"):
        await store.query("record_neighbourhood", key="x")
    with pytest.raises(RegistryError, match="unexpected \\['extra'\\]"):
        await store.query("source_record_get", key="x", extra=1)
    # None of these reached the database.
    assert store.round_trips == before


async def test_health(store: GraphStore) -> None:
    health = await store.health()
    assert health.ok
    assert health.backend == store.backend
