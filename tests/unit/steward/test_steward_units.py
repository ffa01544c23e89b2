"""Steward logic without a store: constraints, waterfall, impact ranking, policy, retrain."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cpgraph.graphql.policy import POLICY, allowed
from cpgraph.linkage import LinkageEngine
from cpgraph.security.roles import Role
from cpgraph.steward.decisions import StoredDecision, content_hash, effective_pairs
from cpgraph.steward.errors import StewardBadInputError
from cpgraph.steward.queue import (
    Impact,
    PersonSummary,
    QueueItem,
    QueueOrder,
    Reason,
    consequence,
    impact_of,
    queue_rows,
    sort_queue,
    waterfall,
)
from cpgraph.steward.retrain import retrain_model
from cpgraph.steward.service import check_reason, id_order
from tests.unit.linkage.conftest import population


def _decision(did: str, pairs: list[tuple[str, str, str]]) -> StoredDecision:
    return StoredDecision(
        did,
        "match",
        pairs[0][2] if pairs else "DEFER",
        "u",
        "data_steward",
        "t",
        "r",
        None,
        [],
        [],
        pairs,
        {},
        {},
        "",
    )


def test_latest_decision_on_a_pair_wins_and_defer_rules_on_nothing() -> None:
    eff = effective_pairs(
        [
            _decision("d2", [("b", "a", "NO_LINK")]),
            _decision("d1", [("a", "b", "LINK"), ("a", "c", "LINK")]),
            _decision("d3", []),
            _decision("d4", [("c", "c", "LINK")]),
        ]
    )
    assert eff == {("a", "b"): ("NO_LINK", "d2"), ("a", "c"): ("LINK", "d1")}


def test_content_hash_changes_with_any_field() -> None:
    d = _decision("d1", [("a", "b", "LINK")])
    base = content_hash(d.content())
    d.reason = "another reason"
    assert content_hash(d.content()) != base


def test_waterfall_runs_from_prior_to_final_weight() -> None:
    bd = {
        "prior": {"level": "prior", "weight": -10.0},
        "dob": {"level": "exact", "weight": 8.0},
        "forename": {"level": "exact", "weight": 5.0},
    }
    names = ["forename", "surname", "dob"]  # the run's spec order
    prior, steps = waterfall(bd, 3.5, names)
    assert prior == -10.0
    assert [s.label for s in steps] == ["prior", "forename", "dob", "adjustment"]  # spec order
    assert [s.cumulative for s in steps] == [-10.0, -5.0, 3.0, 3.5]
    assert waterfall(bd, 3.0, names)[1][-1].label == "dob"  # no gap, no adjustment


def test_queue_rows_of_pairs_sharing_one_breakdown_follow_each_pair_weight() -> None:
    """The engine shares one breakdown object between pairs of equal levels: each row
    still shows its own total (the waterfall's adjustment), the same breakdown text."""
    bd = {"prior": {"level": "prior", "weight": -10.0}, "dob": {"level": "exact", "weight": 8.0}}
    keys = ["s:p:1", "s:p:2", "s:p:3", "s:p:4", "s:p:5", "s:p:6"]
    review = pd.DataFrame(
        {
            "key_a": keys[0::2],
            "key_b": keys[1::2],
            "probability": [0.5, 0.5, 0.4],
            "weight": [-2.0, -1.0, -2.0],
            "breakdown": [bd, bd, {**bd}],
        }
    )
    assignments = pd.DataFrame({"key": keys, "person_id": [f"P{n}" for n in range(6)]})
    mentions = pd.DataFrame(
        {"key": keys, "system": "s", "agency": "health", "dob": None, "row_hash": "h"}
    )
    rels = pd.DataFrame(columns=["from_key", "to_key", "relationship", "lives_with"])
    rows = queue_rows(review, assignments, mentions, rels, {}, set(), ["dob"], "r", "t")
    steps = [json.loads(r["steps"]) for r in rows]
    assert [s[-1][3] for s in steps] == [-2.0, -1.0, -2.0]
    assert steps[0] == steps[2] and steps[0] != steps[1]
    assert len({r["breakdown"] for r in rows}) == 1
    assert [r["prior"] for r in rows] == [-10.0] * 3
    # the stored text is the waterfall's own JSON, adjustment step and all (the queue's
    # digest reads the text: another spelling of the same steps would rewrite the row)
    for row, w in zip(rows, [-2.0, -1.0, -2.0], strict=True):
        shown = waterfall(bd, w, ["dob"])[1]
        assert row["steps"] == json.dumps(
            [[x.label, x.level, x.contribution, x.cumulative] for x in shown]
        )


def _person(pid: str, **kw) -> PersonSummary:
    base = {
        "display_name": None,
        "record_keys": [f"{pid}:r"],
        "agencies": ["health"],
        "is_child": False,
        "police_history": False,
        "household": [],
        "related": [],
        "child_in_network": False,
        "concerns": [],
        "events": 0,
    }
    return PersonSummary(person_id=pid, **{**base, **kw})


def test_impact_names_the_consequential_joins() -> None:
    child = _person("P0000000009", is_child=True, child_in_network=True)
    adult = _person(
        "P0000000002",
        agencies=["police"],
        police_history=True,
        household=["P0000000005"],
        related=["P0000000005"],
        concerns=["e1"],
    )
    imp = impact_of(child, adult)
    assert imp.surviving_person_id == "P0000000002" and imp.retired_person_id == "P0000000009"
    assert Reason.CHILD_JOINS_HOUSEHOLD in imp.reasons
    assert Reason.POLICE_HISTORY_JOINS_CHILD_NETWORK in imp.reasons
    assert imp.agencies_added == ["health"] and imp.concerns_gained == 1
    dull = impact_of(_person("P0000000003"), _person("P0000000004"))
    assert dull.reasons == [] and consequence(dull, 0.5) < consequence(imp, 0.9)
    assert impact_of(child, child).summary.startswith("no change")


def _item(cid: str, prob: float, score: float) -> QueueItem:
    imp = Impact(None, None, 0, [], 0, 0, [], "")
    return QueueItem(
        cid,
        0,
        "open",
        "a",
        "b",
        prob,
        0.0,
        {},
        {},
        None,
        None,
        0.0,
        [],
        imp,
        score,
        created_at=f"2024-01-0{cid[-1]}T00:00:00",
    )


def test_queue_orders() -> None:
    items = [_item("c1", 0.6, 5.0), _item("c2", 0.9, 90.0), _item("c3", 0.7, 5.0)]
    assert [i.candidate_id for i in sort_queue(items, QueueOrder.CONSEQUENCE)] == ["c2", "c1", "c3"]
    assert [i.candidate_id for i in sort_queue(items, QueueOrder.PROBABILITY_ASC)] == [
        "c1",
        "c3",
        "c2",
    ]
    assert [i.candidate_id for i in sort_queue(items, QueueOrder.NEWEST)] == ["c3", "c2", "c1"]


def test_reason_and_ids() -> None:
    assert check_reason("  same\n child ") == "same child"
    for bad in ("", "ab", "x" * 501, "bell\x07 rings"):
        with pytest.raises(StewardBadInputError):
            check_reason(bad)
    assert sorted(["P0000000010", "P0000000002", "per-x"], key=id_order)[0] == "per-x"
    assert min(["P0000000010", "P0000000002"], key=id_order) == "P0000000002"


def test_policy_lets_only_stewards_read_the_queue_and_deciders_decide() -> None:
    assert [r for r in Role if allowed("Query", "reviewQueue", r)] == [Role.DATA_STEWARD]
    for field in ("decideMatch", "mergePersons", "splitPerson", "unlinkRecord"):
        assert {r for r in Role if allowed("Mutation", field, r)} == {Role.DATA_STEWARD}
    assert "Mutation" in POLICY and not allowed("ReviewItem", "recordA", Role.INVESTIGATOR)


def test_retrain_moves_m_towards_labelled_matches_and_keeps_fixed_m() -> None:
    frame, truth = population(120, seed=3)
    engine = LinkageEngine()
    base = engine.fit(frame)
    keys = list(truth)
    by_person: dict[str, list[str]] = {}
    for k in keys:
        by_person.setdefault(truth[k], []).append(k)
    links = [(v[0], v[1], "LINK") for v in by_person.values() if len(v) > 1][:40]
    singles = [v[0] for v in by_person.values()]
    no_links = [(a, b, "NO_LINK") for a, b in zip(singles[::2], singles[1::2], strict=False)]
    model, report = retrain_model(
        engine, frame, base, links + no_links + [("x", "y", "LINK")], m_strength=10.0
    )
    assert report.link_pairs == len(links) and report.no_link_pairs == len(no_links)
    assert model is not base and model.prior == base.prior
    changed = [p.name for p, q in zip(model.params, base.params, strict=True) if p.m != q.m]
    assert "forename" in changed and "dob" in changed
    for p, q in zip(model.params, base.params, strict=True):
        assert abs(sum(p.m) - 1) < 1e-9 and abs(sum(p.u) - 1) < 1e-9
        if q.fixed:
            assert p.m == q.m
    # an empty label set leaves the model as it was
    same, rep = retrain_model(engine, frame, base, [])
    assert rep.link_pairs == 0 and [p.m for p in same.params] == [p.m for p in base.params]
    assert isinstance(frame, pd.DataFrame)


def test_person_ids_round_trip_and_probability_agrees_with_linkage() -> None:
    from cpgraph.linkage.clustering import assign_ids  # noqa: PLC0415
    from cpgraph.linkage.model import probability  # noqa: PLC0415
    from cpgraph.steward import ids  # noqa: PLC0415

    for n in (0, 7, 1234567890):
        assert ids.counter_of(ids.format_id(n)) == n
    assert ids.counter_of("per-x") == 0 and ids.counter_of("P12x") == 0
    # the ids linkage hands out are the format steward code reads
    made = assign_ids(["a", "b"], np.array([0, 1]), {}, []).person_ids
    assert [ids.counter_of(p) for p in made] == [1, 2] and made[0] == ids.format_id(1)
    for w in (-30.0, -1.5, 0.0, 2.25, 40.0):
        assert abs(ids.weight_probability(w) - float(probability(w))) < 1e-12


def test_review_starts_without_pandas() -> None:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = "import sys, cpgraph.steward.tui; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_queue_rows_rank_once_and_carry_the_runs_waterfall() -> None:
    from cpgraph.steward.queue import assign_positions, queue_rows  # noqa: PLC0415

    review = pd.DataFrame(
        {
            "key_a": ["h:p:2", "h:p:3"],
            "key_b": ["p:n:1", "e:s:4"],
            "probability": [0.6, 0.95],
            "weight": [0.5, 4.5],
            "breakdown": [
                {"prior": {"weight": -9.0}, "dob": {"level": "exact", "weight": 9.5}},
                {
                    "prior": {"weight": -9.0},
                    "fn": {"level": "exact", "weight": 6.0},
                    "dob": {"level": "exact", "weight": 7.5},
                    "kept_apart": {"level": "different_addresses", "weight": 0.0},
                },
            ],
        }
    )
    assignments = pd.DataFrame(
        {
            "key": ["p:n:1", "h:p:2", "h:p:3", "e:s:4", "e:s:5"],
            "person_id": ["P0000000001", "P0000000002", "P0000000003", "P0000000004", "P04"],
        }
    )
    mentions = pd.DataFrame(
        {
            "key": ["p:n:1", "h:p:2", "h:p:3", "e:s:4", "e:s:5"],
            "system": ["wmp", "uhb", "uhb", "edu", "edu"],
            "agency": ["police", "health", "health", "education", "education"],
            "dob": ["1980-01-01", "1980-01-01", "2015-05-05", "2015-05-05", "1985-02-02"],
            "row_hash": ["h1", "h2", "h3", "h4", "h5"],
        }
    )
    # person P0000000004 (a child's school record) lives with P04
    relationships = pd.DataFrame(
        {
            "from_key": ["e:s:4"],
            "to_key": ["e:s:5"],
            "relationship": ["mother"],
            "lives_with": [True],
        }
    )
    rows = queue_rows(
        review,
        assignments,
        mentions,
        relationships,
        {"p:n:1": [["ev1", "police", True]]},
        {"P0000000004"},
        ["fn", "dob"],
        "run-1",
        "2026-01-01T00:00:00+00:00",
    )
    first, second = rows
    assert (first["key_a"], first["key_b"]) == ("h:p:2", "p:n:1")  # key order
    assert first["reason"] == "uncertain" and second["reason"] == "different_addresses"
    assert [s[0] for s in json.loads(second["steps"])] == ["prior", "fn", "dob", "kept_apart"]
    assert (first["system_a"], first["system_b"], first["hash_b"]) == ("uhb", "wmp", "h1")
    assert second["flagged"] and not first["flagged"]
    # the child joining a household outranks tidying two records
    assert "CHILD_JOINS_HOUSEHOLD" in second["impact_reasons"]
    assert second["consequence"] > first["consequence"]
    nxt = assign_positions(rows, {first["candidate_id"]: "2020-01-01T00:00:00"}, 10)
    assert nxt == 12
    assert (second["rank_pos"], first["rank_pos"]) == (10, 11)
    assert (first["prob_pos"], second["prob_pos"]) == (10, 11)
    assert (second["prob_desc_pos"], first["prob_desc_pos"]) == (10, 11)
    assert (second["new_pos"], first["new_pos"]) == (10, 11)  # first was queued earlier
