"""What a run writes of the review queue: only candidates that changed (issue #16 item 2)."""

from __future__ import annotations

from typing import Any

from cpgraph.steward.queue import POSITIONS, plan_queue_write, row_digest


def _row(cid: str, prob: float, consequence: float = 1.0) -> dict[str, Any]:
    return {
        "candidate_id": cid,
        "key_a": f"a:{cid}",
        "key_b": f"b:{cid}",
        "probability": prob,
        "consequence": consequence,
        "person_a": f"P{cid}a",
        "person_b": f"P{cid}b",
        "run_id": "ignored",
        "at": "2026-12-06T00:00:00+00:00",
        "flagged": False,
    }


def _store_after(rows: list[dict[str, Any]], status: str = "open") -> dict[str, dict[str, Any]]:
    """What the store holds once `rows` (planned) were written."""
    return {
        r["candidate_id"]: {
            "candidate_id": r["candidate_id"],
            "created_at": r["at"],
            "status": status,
            "person_a": r["person_a"],
            "person_b": r["person_b"],
            "digest": r["digest"],
            **{p: r[p] for p in POSITIONS.values()},
        }
        for r in rows
    }


def _first_run() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, Any]]:
    rows = [_row("c1", 0.2), _row("c2", 0.5), _row("c3", 0.7)]
    upsert, renumber, numbering = plan_queue_write(rows, {}, {}, "run1")
    assert len(upsert) == 3 and renumber == []
    # numbered from 1: FalkorDB leaves 0 out of a range index loaded from a snapshot
    assert numbering == {"next_pos": 4, "base_pos": 1, "run_id": "run1"}
    return rows, _store_after(rows), numbering


def test_an_unchanged_queue_writes_nothing_and_keeps_its_numbering() -> None:
    _, known, meta = _first_run()
    rows = [_row("c1", 0.2), _row("c2", 0.5), _row("c3", 0.7)]
    upsert, renumber, numbering = plan_queue_write(rows, known, meta, "run2")
    assert upsert == [] and renumber == []
    # the last numbering stands, with its run id (close_stale then closes nothing new)
    assert numbering == meta
    assert {r["run_id"] for r in rows} == {"run1"}


def test_a_changed_candidate_is_written_and_the_others_only_renumbered() -> None:
    _, known, meta = _first_run()
    rows = [_row("c1", 0.2), _row("c2", 0.6), _row("c3", 0.7), _row("c4", 0.1)]
    upsert, renumber, numbering = plan_queue_write(rows, known, meta, "run2")
    assert sorted(r["candidate_id"] for r in upsert) == ["c2", "c4"]
    assert sorted(r["candidate_id"] for r in renumber) == ["c1", "c3"]
    # numbered afresh from the next free position, as a full rewrite numbers
    assert numbering == {"next_pos": 8, "base_pos": 4, "run_id": "run2"}
    by_prob = sorted(rows, key=lambda r: r["prob_pos"])
    assert [r["candidate_id"] for r in by_prob] == ["c4", "c1", "c2", "c3"]
    assert all(r["run_id"] == "run2" for r in (*upsert, *renumber))


def test_a_candidate_that_left_renumbers_the_rest() -> None:
    _, known, meta = _first_run()
    rows = [_row("c1", 0.2), _row("c2", 0.5)]
    upsert, renumber, numbering = plan_queue_write(rows, known, meta, "run2")
    assert upsert == [] and len(renumber) == 2 and numbering["run_id"] == "run2"


def test_reopened_or_moved_candidates_are_written_whole() -> None:
    _, known, meta = _first_run()
    known["c1"]["status"] = "closed"  # closed by an earlier run: the upsert reopens it
    known["c2"]["person_a"] = "Pmerged"  # a steward's decision moved its record
    known["c3"]["status"] = "rejected"  # decided: kept as it is (the upsert keeps it)
    rows = [_row("c1", 0.2), _row("c2", 0.5), _row("c3", 0.7)]
    upsert, renumber, numbering = plan_queue_write(rows, known, meta, "run2")
    assert sorted(r["candidate_id"] for r in upsert) == ["c1", "c2"]
    assert renumber == [] and numbering == meta


def test_the_digest_ignores_run_positions_and_flag_mark_only() -> None:
    a, b = _row("c1", 0.2), _row("c1", 0.2)
    b.update(run_id="other", at="later", flagged=True, rank_pos=9)
    assert row_digest(a) == row_digest(b)
    b["probability"] = 0.21
    assert row_digest(a) != row_digest(b)


def test_a_numbering_from_zero_is_redone_from_one() -> None:
    rows, known, _ = _first_run()
    old = {"next_pos": 3, "base_pos": 0, "run_id": "run0"}  # written before positions began at 1
    again = [_row("c1", 0.2), _row("c2", 0.5), _row("c3", 0.7)]
    _, renumber, numbering = plan_queue_write(again, known, old, "run2")
    assert numbering["base_pos"] >= 1 and len(renumber) == 3
    assert min(r["rank_pos"] for r in again) >= 1
