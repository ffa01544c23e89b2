"""The create-in-one-step upserts: new and existing events, involvements, relationships."""

from __future__ import annotations

from typing import Any

from cpgraph.ingest.writer import RECORD_COLUMNS
from cpgraph.store import GraphStore


def _event(event_id: str, facts: dict[str, Any], *, extra: bool | None) -> list[Any]:
    row: list[Any] = [event_id, "referral", "cat", False, None, "2024-01-02", None, None]
    row += ["childrens_services", "sys", "load-1", facts]
    if extra is not None:
        row.append(extra)
    return row


async def _event_props(store: GraphStore, event_id: str) -> dict[str, Any]:
    rows = await store.query("ingest_snapshot_nodes")
    found = [r for r in rows if r.get("props", {}).get("event_id") == event_id]
    assert len(found) == 1, found
    return dict(found[0]["props"])


async def test_events_created_whole_and_updated(falkordb_store: GraphStore) -> None:
    store = falkordb_store
    await store.execute(
        "ingest_events_upsert",
        rows=[
            _event("sys:referral:1", {"summary": "s", "nfa": None}, extra=False),
            _event("sys:referral:2", {"summary": "t", "odd_fact": 7}, extra=True),
            # A hand-built row without the last column still keeps every fact.
            _event("sys:referral:3", {"odd_fact": 8}, extra=None),
        ],
    )
    one = await _event_props(store, "sys:referral:1")
    assert one["summary"] == "s" and "nfa" not in one and one["load_id"] == "load-1"
    assert one["type"] == "referral" and one["is_concern"] is False
    two = await _event_props(store, "sys:referral:2")
    assert two["summary"] == "t" and two["odd_fact"] == 7
    assert (await _event_props(store, "sys:referral:3"))["odd_fact"] == 8
    # An existing event is updated in place: one node, new values, null facts removed.
    updated = _event("sys:referral:1", {"summary": None, "nfa": True}, extra=False)
    updated[10] = "load-2"
    await store.execute("ingest_events_upsert", rows=[updated])
    one = await _event_props(store, "sys:referral:1")
    assert one["nfa"] is True and "summary" not in one and one["load_id"] == "load-2"


async def test_edges_created_once_and_updated(falkordb_store: GraphStore) -> None:
    store = falkordb_store

    def record(key: str) -> list[Any]:
        row: list[Any] = [None] * len(RECORD_COLUMNS)
        row[0], row[1], row[32] = key, "sys", "h"
        return row

    await store.execute("ingest_records_upsert", rows=[record("sys:p:a"), record("sys:p:b")])
    await store.execute("ingest_events_upsert", rows=[_event("sys:referral:9", {}, extra=False)])
    rel = ["sys:p:a", "sys:p:b", "k1", "parent", "MTH", True, None, None, "sys", "load-1"]
    inv = ["sys:p:a", "sys:referral:9", "subject", "sys"]
    for _ in range(2):
        await store.execute("ingest_relationships_upsert", rows=[rel])
        await store.execute("ingest_involvements_upsert", rows=[inv])
    rel2 = [*rel[:3], "carer", None, False, "2024-01-01", None, "sys", "load-2"]
    await store.execute("ingest_relationships_upsert", rows=[rel2])
    edges = await store.query("ingest_snapshot_edges")
    rels = [e for e in edges if e["type"] == "STATED_RELATIONSHIP"]
    invs = [e for e in edges if e["type"] == "INVOLVED_IN"]
    assert len(rels) == 1 and len(invs) == 1, edges
    props = rels[0]["props"]
    assert props["relationship"] == "carer" and props["lives_with"] is False
    assert props["from_date"] == "2024-01-01" and props["load_id"] == "load-2"
    assert "relationship_recorded" not in props
    assert invs[0]["props"] == {"role": "subject", "system": "sys"}


async def test_an_event_names_the_load_that_created_or_last_changed_it(
    falkordb_store: GraphStore,
) -> None:
    """`changed_in` (what a scoped flags run reads) moves when the row changes or the
    event gains an involvement, not when a later load re-sends it unchanged."""
    store = falkordb_store

    def event(load: str, summary: str) -> list[Any]:
        row = _event("sys:referral:5", {"summary": summary}, extra=False)
        row[10] = load
        return [*row, f"digest-of-{summary}"]  # (the engine's `_event_digest`)

    async def changed_in() -> str:
        return (await _event_props(store, "sys:referral:5"))["changed_in"]

    await store.execute("ingest_events_upsert", rows=[event("load-1", "s")])
    assert await changed_in() == "load-1"
    await store.execute("ingest_events_upsert", rows=[event("load-2", "s")])  # re-sent
    assert await changed_in() == "load-1"
    await store.execute("ingest_events_upsert", rows=[event("load-3", "t")])  # changed
    assert await changed_in() == "load-3"
    # a later load re-sends it unchanged and involves a known record in it
    row: list[Any] = [None] * len(RECORD_COLUMNS)
    row[0], row[1], row[32] = "sys:p:z", "sys", "h"
    await store.execute("ingest_records_upsert", rows=[row])
    await store.execute("ingest_events_upsert", rows=[event("load-4", "t")])
    assert await changed_in() == "load-3"
    inv = ["sys:p:z", "sys:referral:5", "subject", "sys"]
    await store.execute("ingest_involvements_upsert", rows=[inv])
    assert await changed_in() == "load-4"
    await store.execute("ingest_events_upsert", rows=[event("load-5", "t")])
    await store.execute("ingest_involvements_upsert", rows=[inv])  # (known: no change)
    assert await changed_in() == "load-4"
