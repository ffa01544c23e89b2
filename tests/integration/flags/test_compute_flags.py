"""compute_flags against a real embedded FalkorDB: read, evaluate, write, replace."""

from __future__ import annotations

import json
from datetime import date

import pytest

from cpgraph.flags import compute_flags, service
from cpgraph.store import GraphStore

pytestmark = pytest.mark.integration

RECORDS = [
    ("csc:person:C1", "2016-04-03", "per-child"),
    ("csc:person:P1", "1985-07-01", "per-partner"),
    ("police:nominal:N1", "1985-07-01", "per-partner"),
]


async def put_persons(store: GraphStore, records: list[tuple[str, str, str]]) -> None:
    """Source records ``(key, dob, person id)``, each resolved to its person."""
    await store.write_batches(
        "source_records_upsert",
        [{"key": k, "system": k.split(":")[0], "dob": dob} for k, dob, _ in records],
    )
    await store.write_batches(
        "persons_resolve_upsert",
        [
            {
                "key": k,
                "person_id": pid,
                "display_name": pid,
                "created_at": "2026-01-01",
                "probability": 1.0,
                "method": "deterministic",
                "status": "auto",
                "breakdown": "[]",
            }
            for k, _, pid in records
        ],
    )


async def live_with(
    store: GraphStore, child: str, adult: str, relationship: str, since: str, sources: list[str]
) -> None:
    """A person-level relationship: ``adult`` is the child's ``relationship``, living
    with the child since ``since``, as the records ``sources`` state."""
    row = {
        "from_id": child,
        "to_id": adult,
        "relationship": relationship,
        "lives_with": True,
        "from_date": since,
        "to_date": None,
        "sources": sources,
        "run_id": "r1",
    }
    await store.write_batches("person_relationships_upsert", [row])


async def populate(store: GraphStore) -> None:
    await put_persons(store, RECORDS)
    await live_with(
        store, "per-child", "per-partner", "partner_of_parent", "2025-07-03",
        ["csc:person:C1", "csc:person:P1"],
    )  # fmt: skip
    event = [
        "police:occurrence:O1", "occurrence", "domestic_abuse", True, "domestic_abuse",
        "2022-10-04", None, None, "police", "police", "load-1", {"summary": "free text"},
    ]  # fmt: skip
    await store.write_batches("ingest_events_upsert", [event])
    await store.write_batches(
        "ingest_involvements_upsert",
        [["police:nominal:N1", "police:occurrence:O1", "suspect", "police"]],
    )


async def test_compute_flags_writes_and_replaces_flags(falkordb_store: GraphStore) -> None:
    await populate(falkordb_store)
    report = await compute_flags(falkordb_store, as_of=date(2026, 11, 1))
    assert report.by_code == {"HOUSEHOLD_ADULT_DOMESTIC_ABUSE": 1}
    assert report.children == 1 and report.persons == 2
    rows = await falkordb_store.query("api_persons_flags", ids=["per-child", "per-partner"])
    assert [r["person_id"] for r in rows] == ["per-child"]
    flag = rows[0]["flag"]
    assert flag["code"] == "HOUSEHOLD_ADULT_DOMESTIC_ABUSE" and flag["as_of"] == "2026-11-01"
    assert flag["event_ids"] == ["police:occurrence:O1"]
    assert "police:nominal:N1" in flag["record_keys"]
    evidence = json.loads(flag["evidence"])
    assert evidence["path"][0]["to_id"] == "per-partner"
    assert "free text" not in flag["evidence"] and "free text" not in flag["reason"]

    # the same inputs: the flag stands as written (none deleted or rewritten)
    again = await compute_flags(falkordb_store, as_of=date(2026, 11, 1))
    assert again.deleted == 0 and again.written == 0 and again.flags == 1
    assert (await falkordb_store.stats()).nodes.get("Flag") == 1
    same = await falkordb_store.query("api_persons_flags", ids=["per-child"])
    assert same[0]["flag"]["run_id"] == report.run_id != again.run_id

    # a new reference date that changes nothing the flag says: re-dated in place
    dated = await compute_flags(falkordb_store, as_of=date(2026, 11, 2))
    assert dated.deleted == 0 and dated.written == 0 and dated.flags == 1
    same = await falkordb_store.query("api_persons_flags", ids=["per-child"])
    assert same[0]["flag"]["as_of"] == "2026-11-02"
    assert same[0]["flag"]["run_id"] == report.run_id

    # a changed input (two years on, the partner no longer joined "recently"): the
    # flag is replaced, not added
    moved = await compute_flags(falkordb_store, as_of=date(2027, 8, 1))
    assert moved.deleted == 1 and moved.written == 1 and moved.flags == 1
    assert (await falkordb_store.stats()).nodes.get("Flag") == 1

    # Ten years later the child is an adult: the old flag goes, none replaces it.
    later = await compute_flags(falkordb_store, as_of=date(2036, 11, 1))
    assert later.flags == 0 and later.deleted == 1
    assert await falkordb_store.query("api_persons_flags", ids=["per-child"]) == []


async def test_the_snapshot_is_the_same_whatever_the_page_size(
    falkordb_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Persons are read in windows of the store's own cursor (FalkorDB: node id
    windows, most of them holding no person); a window of one id reads what one
    window of thousands does."""
    await populate(falkordb_store)
    whole = await service.read_input(falkordb_store, date(2026, 11, 1))
    monkeypatch.setattr(service, "PAGE", 1)
    paged = await service.read_input(falkordb_store, date(2026, 11, 1))
    assert set(whole.dobs) == {"per-child", "per-partner"}
    assert paged.dobs == whole.dobs
    assert paged.relationships == whole.relationships
    assert paged.involvements == whole.involvements and paged.events == whole.events
