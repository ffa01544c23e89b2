"""The stored review queue over a real linked graph (embedded FalkorDB, never a mock):
keyset pages in the stored order, filters, the run's spec, stale items after a
reload, and decisions that take the items they settle out of the queue."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from steward_helpers import STEWARD, Linked

from cpgraph.ingest.engine import load_extracts
from cpgraph.linkage.service import run_spec
from cpgraph.linkage.spec import load_spec
from cpgraph.steward.queue import (
    QueueFilter,
    QueueOrder,
    candidate_item,
    flagged_persons,
    load_queue,
    queue_count,
    queue_page,
    refresh_flagged,
)
from cpgraph.store import create_store
from cpgraph.store.falkordb import FalkorDBStore
from tests.factories import undeclare_files


async def _all_pages(linked: Linked, order: QueueOrder, filters: QueueFilter | None = None):
    items, after = [], ""
    while True:
        page = await queue_page(linked.store, first=3, after=after, order=order, filters=filters)
        items.extend(page.items)
        if not page.has_next:
            return items
        after = page.items[-1].sort_key


async def test_pages_follow_the_stored_order_without_repeats(linked: Linked) -> None:
    every = await _all_pages(linked, QueueOrder.CONSEQUENCE)
    assert len(every) >= 4
    ids = [it.candidate_id for it in every]
    assert len(ids) == len(set(ids)) == await queue_count(linked.store)
    positions = [int(it.sort_key) for it in every]
    assert positions == sorted(positions)
    scores = [it.consequence for it in every]
    assert scores == sorted(scores, reverse=True)  # most consequential first
    probs = [it.probability for it in await _all_pages(linked, QueueOrder.PROBABILITY_DESC)]
    assert probs == sorted(probs, reverse=True)
    for it in every:
        # the waterfall stored at link time runs from the prior to the stored weight
        assert it.steps[0].label == "prior" and abs(it.steps[-1].cumulative - it.weight) < 0.02
        assert it.person_a and it.person_b and it.person_a.person_id != it.person_b.person_id
        assert it.key_a in it.person_a.record_keys and not it.stale


async def test_filters_by_system_reason_probability_and_flagged_child(linked: Linked) -> None:
    every = await load_queue(linked.store)
    system = every[0].key_a.split(":")[0]
    by_system = await _all_pages(linked, QueueOrder.CONSEQUENCE, QueueFilter(system=system))
    assert {it.candidate_id for it in by_system} == {
        it.candidate_id
        for it in every
        if system in (it.key_a.split(":")[0], it.key_b.split(":")[0])
    }
    reason = every[0].reason
    by_reason = await load_queue(linked.store, filters=QueueFilter(reason=reason))
    assert by_reason and {it.reason for it in by_reason} == {reason}
    assert len(by_reason) == sum(it.reason == reason for it in every)
    # a band edge between two stored probabilities: the store keeps doubles to 15
    # significant digits, so an edge equal to one of them may fall either side of it
    probs = sorted({it.probability for it in every})
    k = len(probs) // 2
    mid = (probs[k - 1] + probs[k]) / 2 if k else probs[0]
    band = await load_queue(linked.store, filters=QueueFilter(min_probability=mid))
    assert {it.candidate_id for it in band} == {
        it.candidate_id for it in every if it.probability >= mid
    }
    # flags are computed after linkage: the marks follow them when refreshed
    await linked.store.execute(
        "flags_write",
        rows=[
            {
                "flag_id": "f-test-1",
                "person_id": every[0].person_b.person_id,  # type: ignore[union-attr]
                "code": "MULTI_AGENCY_CONCERNS",
                "title": "t",
                "reason": "r",
                "as_of": "2026-01-01",
                "computed_at": "2026-01-01T00:00:00",
                "run_id": "test",
                "record_keys": [],
                "event_ids": [],
                "person_ids": [],
                "evidence": "{}",
            }
        ],
    )
    await refresh_flagged(linked.store)
    flagged = await flagged_persons(linked.store)
    expected = {
        it.candidate_id
        for it in every
        if {it.person_a.person_id, it.person_b.person_id} & flagged  # type: ignore[union-attr]
    }
    got = await load_queue(linked.store, filters=QueueFilter(flagged=True))
    assert every[0].candidate_id in expected
    assert {it.candidate_id for it in got} == expected and all(it.flagged for it in got)
    unflagged = await load_queue(linked.store, filters=QueueFilter(flagged=False))
    assert len(unflagged) + len(got) == len(every)


async def test_the_run_stores_its_spec(linked: Linked) -> None:
    spec = await run_spec(linked.store)
    assert spec is not None and spec.names == load_spec().names
    assert spec.version == linked.linkage.spec.version


async def test_a_merge_settles_the_items_between_the_merged_persons(linked: Linked) -> None:
    item = (await load_queue(linked.store))[0]
    assert item.person_a and item.person_b
    before = await queue_count(linked.store)
    out = await linked.steward.merge_persons(
        STEWARD, [item.person_a.person_id, item.person_b.person_id], "same person, checked"
    )
    settled = await candidate_item(linked.store, item.candidate_id)
    assert settled is not None and settled.status == "settled"
    queue = await load_queue(linked.store)
    assert item.candidate_id not in {it.candidate_id for it in queue}
    assert len(queue) < before
    # every item left is between two different persons, and none is on a moved record
    # without following it
    assign = await linked.persons()
    for it in queue:
        assert assign[it.key_a] != assign[it.key_b]
        assert it.person_a.person_id == assign[it.key_a]  # type: ignore[union-attr]
    # splitting them back reopens the item
    survivor = next(iter(out.after))
    part = out.before[out.retired[0]]
    await linked.steward.split_person(STEWARD, survivor, part, "the merge was wrong")
    reopened = await candidate_item(linked.store, item.candidate_id)
    assert reopened is not None and reopened.status == "open"


async def test_a_link_decision_takes_its_item_and_the_ones_it_settles_out(
    linked: Linked,
) -> None:
    queue = await load_queue(linked.store)
    item = queue[0]
    await linked.steward.decide_match(STEWARD, item.candidate_id, "LINK", "same person")
    after = {it.candidate_id for it in await load_queue(linked.store)}
    assert item.candidate_id not in after
    assign = await linked.persons()
    for it in queue[1:]:
        one_person = assign[it.key_a] == assign[it.key_b]
        stored = await candidate_item(linked.store, it.candidate_id)
        assert stored is not None
        assert (it.candidate_id in after) is not one_person
        assert (stored.status == "settled") is one_person


def _change_row(folder: Path, local_id: str) -> bool:
    """Change one name in the CSV row of `local_id`; True when found."""
    for path in sorted(folder.glob("*.csv")):
        text = path.read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text)))
        header = rows[0]
        col = next((c for c in ("forename", "first_name", "given_name") if c in header), None)
        for row in rows[1:]:
            if row and row[0] == local_id and col is not None:
                row[header.index(col)] = row[header.index(col)] + "x"
                out = io.StringIO()
                csv.writer(out, lineterminator="\r\n").writerows(rows)
                path.write_text(out.getvalue(), encoding="utf-8")
                return True
    return False


async def test_items_on_changed_records_are_stale_until_the_next_link(
    linked: Linked, tmp_path: Path
) -> None:
    target = None
    for it in await load_queue(linked.store):
        system, _kind, local_id = it.key_a.split(":", 2)
        folder = tmp_path / system
        shutil.copytree(linked.population.extract(system), folder)
        undeclare_files(folder)
        if _change_row(folder, local_id):
            target = it
            break
        shutil.rmtree(folder)
    assert target is not None, "no queue item on a CSV record"
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["extracted_at"] = "2026-11-15T00:00:00Z"  # newer than the population's
    (folder / "manifest.json").write_text(json.dumps(manifest))
    await load_extracts(linked.store, [folder])
    stale = await candidate_item(linked.store, target.candidate_id)
    assert stale is not None and stale.stale and stale.status == "open"
    # still in the queue, marked: not silently dropped
    listed = {it.candidate_id: it for it in await load_queue(linked.store)}
    assert listed[target.candidate_id].stale
    await linked.linkage.link()
    rescored = await candidate_item(linked.store, target.candidate_id)
    # scored again: queued with the new scores and hashes, or closed when no longer
    # uncertain
    assert rescored is not None
    assert (rescored.status == "open" and not rescored.stale) or rescored.status == "closed"


async def test_queue_survives_a_restart_from_a_snapshot(linked: Linked) -> None:
    """Every order's pages are the same after the store restarts from a rewritten
    append-only file (a snapshot, as after a bulk load or Redis's own rewrite).

    FalkorDB drops the value 0 from a range index when it loads a snapshot, so a
    candidate at position 0 vanished from the queue after such a restart.
    """
    assert isinstance(linked.store, FalkorDBStore)
    before = {order: await _all_pages(linked, order) for order in QueueOrder}
    assert before[QueueOrder.CONSEQUENCE], "the population must give a review queue"
    await linked.store.rewrite_log()
    await linked.store.close()
    async with create_store(linked.settings) as store:
        linked.store = store
        after = {order: await _all_pages(linked, order) for order in QueueOrder}
    for order in QueueOrder:
        assert [i.candidate_id for i in after[order]] == [i.candidate_id for i in before[order]], (
            order
        )
