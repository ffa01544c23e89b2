"""A scoped flags run (after an incremental link) against a real embedded FalkorDB.

It recomputes only the flags the run's changes can reach, and must leave the flags a
full run leaves: changes it is told of (persons the link changed), and changes it
finds itself (events of loads it has not seen, steward decisions since its last run,
possible matches new, gone or different since its last run, and what a new reference
date changes). Whatever it cannot trust (no record of a last run, its cache gone,
another rule table) makes it a full run.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cpgraph.flags import compute_flags, service
from cpgraph.flags.engine import FlagEngine
from cpgraph.flags.model import Rules
from cpgraph.security.roles import Role
from cpgraph.steward import Actor, StewardService
from cpgraph.store import GraphStore
from tests.integration.flags.test_compute_flags import live_with, populate, put_persons

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 1)
STEWARD = Actor("steward-one", Role.DATA_STEWARD)
# a second household: a child living with an adult whose history is elsewhere
SECOND = [
    ("csc:person:C2", "2018-02-02", "per-child-2"),
    ("csc:person:A2", "1980-03-03", "per-adult-2"),
    ("police:nominal:N2", "1980-03-03", "per-other-2"),
]


async def _second_household(store: GraphStore) -> None:
    await put_persons(store, SECOND)
    await live_with(
        store, "per-child-2", "per-adult-2", "step_father", "2024-01-01",
        ["csc:person:C2", "csc:person:A2"],
    )  # fmt: skip


async def _new_load_with_an_event(store: GraphStore, load_id: str, record: str) -> None:
    """A later load writes a domestic-abuse occurrence of an unchanged record."""
    await store.execute(
        "ingest_load_start", load_id=load_id, started_at="2026-11-01T03:00:00Z",
        system="police", agency="police", organisation="A force", extracted_at="2026-11-01",
        owner="test", org_key="org-police", org_type="police",
    )  # fmt: skip
    event = [
        f"police:occurrence:{load_id}", "occurrence", "domestic_abuse", True,
        "domestic_abuse", "2023-05-06", None, None, "police", "police", load_id, {},
    ]  # fmt: skip
    await store.write_batches("ingest_events_upsert", [event])
    await store.write_batches(
        "ingest_involvements_upsert", [[record, event[0], "suspect", "police"]]
    )


async def _full_flags(store: GraphStore) -> dict[str, str]:
    """Flag id → digest of the flags a full run would write now (nothing written)."""
    data = await service.read_input(store, DAY)
    rows = service.flag_rows(FlagEngine(data).run(), "x", "y")
    return {r["flag_id"]: r["digest"] for r in rows}


async def _stored(store: GraphStore) -> dict[str, str]:
    return {k: v["digest"] for k, v in (await service.stored_flags(store)).items()}


async def test_a_scoped_run_finds_what_changed_and_leaves_what_a_full_run_leaves(
    falkordb_store: GraphStore, tmp_path: Path
) -> None:
    store, cache = falkordb_store, tmp_path / "flags" / "possible.npz"
    await populate(store)
    await _second_household(store)
    first = await compute_flags(store, as_of=DAY, cache=cache)
    assert not first.scoped and first.by_code == {"HOUSEHOLD_ADULT_DOMESTIC_ABUSE": 1}
    assert cache.stat().st_mode & 0o777 == 0o600

    # nothing changed: nothing written, and only the persons named are recomputed
    quiet = await compute_flags(store, as_of=DAY, changed=["per-partner"], cache=cache)
    assert quiet.scoped and quiet.written == quiet.deleted == 0
    assert quiet.persons < 6 and quiet.flags == 1

    # a possible match of the second household's adult with a history elsewhere: the
    # linkage run changed no person, the queue did
    await _new_load_with_an_event(store, "load-2", "police:nominal:N2")
    candidate = {
        "candidate_id": "rc-1", "key_a": "csc:person:A2", "key_b": "police:nominal:N2",
        "probability": 0.9, "reason": "different_addresses", "evidence": ["alias"],
        "status": "open",
    }  # fmt: skip
    await store.write_batches("review_candidates_put", [candidate])
    found = await compute_flags(store, as_of=DAY, changed=[], cache=cache)
    assert found.scoped and found.written == 1
    assert await _stored(store) == await _full_flags(store)
    possible = await store.query("api_persons_flags", ids=["per-child-2"])
    assert [r["flag"]["confidence"] for r in possible] == ["POSSIBLE"]

    # a steward's "different": the possible match goes, and so does its flag
    await store.write_batches("review_candidates_put", [{**candidate, "status": "rejected"}])
    gone = await compute_flags(store, as_of=DAY, changed=[], cache=cache)
    assert gone.scoped and gone.deleted == 1
    assert await _stored(store) == await _full_flags(store)

    # an event of an unchanged record, loaded since: found by its load, not by linkage
    await store.write_batches(
        "persons_resolve_upsert",
        [
            {
                "key": "police:nominal:N2",
                "person_id": "per-adult-2",
                "display_name": "x",
                "created_at": "2026-01-02",
                "probability": 1.0,
                "method": "steward",
                "status": "reviewed",
                "breakdown": "[]",
            }
        ],  # fmt: skip
    )
    linked = await compute_flags(store, as_of=DAY, changed=["per-adult-2", "per-other-2"],
                                 cache=cache)  # fmt: skip
    assert linked.scoped and linked.by_code == {"HOUSEHOLD_ADULT_DOMESTIC_ABUSE": 2}
    await _new_load_with_an_event(store, "load-3", "police:nominal:N2")
    later = await compute_flags(store, as_of=DAY, changed=[], cache=cache)
    assert later.scoped and later.written == 1  # the flag cites the new occurrence
    assert await _stored(store) == await _full_flags(store)

    # a steward splits the police record off again, between two flags runs
    steward = StewardService(store)
    await steward.split_person(STEWARD, "per-adult-2", ["police:nominal:N2"], "not him")
    split = await compute_flags(store, as_of=DAY, changed=[], cache=cache)
    assert split.scoped and split.deleted == 1
    assert split.by_code == {"HOUSEHOLD_ADULT_DOMESTIC_ABUSE": 1}
    assert await _stored(store) == await _full_flags(store)


async def test_a_scoped_run_it_cannot_trust_computes_every_flag(
    falkordb_store: GraphStore, tmp_path: Path
) -> None:
    store, cache = falkordb_store, tmp_path / "possible.npz"
    await populate(store)
    assert not (await compute_flags(store, as_of=DAY, changed=[], cache=cache)).scoped  # first
    assert (await compute_flags(store, as_of=DAY, changed=[], cache=cache)).scoped
    # another reference date: still scoped (the persons the date can change)
    assert (await compute_flags(store, as_of=date(2026, 11, 2), changed=[], cache=cache)).scoped
    # another rule table
    rules = Rules.load()
    rules.rules["HOUSEHOLD_ADULT_DOMESTIC_ABUSE"]["recent_days"] = 1
    assert not (
        await compute_flags(store, as_of=date(2026, 11, 2), rules=rules, changed=[], cache=cache)
    ).scoped
    # the cache gone, or another run's
    cache.unlink()
    assert not (
        await compute_flags(store, as_of=date(2026, 11, 2), rules=rules, changed=[], cache=cache)
    ).scoped
    other = tmp_path / "other.npz"
    await compute_flags(store, as_of=date(2026, 11, 2), rules=rules, cache=other)
    assert not (
        await compute_flags(store, as_of=date(2026, 11, 2), rules=rules, changed=[], cache=cache)
    ).scoped
    # a full link run names no changed persons
    assert not (
        await compute_flags(store, as_of=date(2026, 11, 2), rules=rules, cache=cache)
    ).scoped
