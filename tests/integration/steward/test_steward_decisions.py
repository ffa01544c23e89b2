"""Steward decisions on a real linked graph: they apply at once, stick through
re-linking, keep ids stable, reverse cleanly and are all in the audit chain."""

from __future__ import annotations

import asyncio

import pytest
from steward_helpers import OTHER_STEWARD, STEWARD, Linked, multi_record_person, partition

from cpgraph.security import Role, verify_chain
from cpgraph.security.audit import AuditLog
from cpgraph.steward import (
    Actor,
    StewardBadInputError,
    StewardConflictError,
    StewardForbiddenError,
    StewardService,
    load_constraints,
)
from cpgraph.steward.decisions import content_hash, load_decisions
from cpgraph.steward.queue import load_queue
from cpgraph.steward.service import id_order


async def _top_candidate(linked: Linked):
    queue = await load_queue(linked.store)
    assert queue, "the generated population should leave uncertain pairs to review"
    return queue[0]


async def test_link_decision_applies_now_and_survives_full_relinking(linked: Linked) -> None:
    item = await _top_candidate(linked)
    pa, pb = item.person_a.person_id, item.person_b.person_id
    survivor, retired = sorted((pa, pb), key=id_order)
    out = await linked.steward.decide_match(STEWARD, item.candidate_id, "LINK", "same child")
    assert out.retired == [retired] and out.candidate_version == 1
    now = await linked.persons()
    assert now[item.key_a] == now[item.key_b] == survivor
    # the retired id answers with the survivor
    rows = await linked.store.query("api_persons_profile", ids=[retired])
    assert {r["person_id"] for r in rows} == {survivor}
    for full in (True, False, True):
        await linked.linkage.link(full=full)
        after = await linked.persons()
        assert after[item.key_a] == after[item.key_b] == survivor
    assert (item.key_a, item.key_b, "LINK") in await load_constraints(linked.store) or (
        item.key_b,
        item.key_a,
        "LINK",
    ) in await load_constraints(linked.store)
    # the candidate is decided, not back in the queue
    assert item.candidate_id not in {i.candidate_id for i in await load_queue(linked.store)}


async def test_unlink_survives_relinking_and_larger_part_keeps_the_id(linked: Linked) -> None:
    before = await linked.persons()
    pid, keys = multi_record_person(before, size=3)
    leaving = keys[-1]
    out = await linked.steward.unlink_record(STEWARD, leaving, "different person: other DOB")
    new_id = next(p for p in out.after if p != pid)
    assert out.after[pid] == keys[:-1] and out.after[new_id] == [leaving]
    for full in (True, False):
        await linked.linkage.link(full=full)
        now = await linked.persons()
        assert now[leaving] == new_id
        assert {now[k] for k in keys[:-1]} == {pid}


async def test_merge_then_split_restores_the_original_clusters_and_ids(linked: Linked) -> None:
    original = await linked.persons()
    pid_a, keys_a = multi_record_person(original, size=2)
    pid_b = next(p for p in sorted(set(original.values())) if p != pid_a)
    keys_b = sorted(k for k, p in original.items() if p == pid_b)
    # two arbitrary persons may hold different valid identifiers: the steward overrides
    merged = await linked.steward.merge_persons(
        STEWARD, [pid_b, pid_a], "one family member", override_identifier_conflict=True
    )
    survivor = min((pid_a, pid_b), key=id_order)
    other = max((pid_a, pid_b), key=id_order)
    assert merged.after == {survivor: sorted(keys_a + keys_b)} and merged.retired == [other]
    await linked.linkage.link(full=True)
    now = await linked.persons()
    assert {now[k] for k in keys_a + keys_b} == {survivor}
    split = await linked.steward.split_person(
        STEWARD, survivor, keys_b if survivor == pid_a else keys_a, "the merge was wrong"
    )
    assert split.revived == [other]
    assert merged.decision_id in split.supersedes
    assert await linked.persons() == original
    await linked.linkage.link(full=True)
    await linked.linkage.link(full=False)
    after = await linked.persons()
    assert partition(after) == partition(original)
    assert after == original  # the same ids, too


async def test_concurrent_decisions_on_one_candidate_one_wins(linked: Linked) -> None:
    item = await _top_candidate(linked)
    # two stewards, two processes' worth of services, both looking at version 0
    one = StewardService(linked.store, AuditLog(linked.store))
    two = StewardService(linked.store, AuditLog(linked.store))
    results = await asyncio.gather(
        one.decide_match(STEWARD, item.candidate_id, "LINK", "looks the same", expected_version=0),
        two.decide_match(
            OTHER_STEWARD, item.candidate_id, "NO_LINK", "looks different", expected_version=0
        ),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, BaseException)]
    assert len(wins) == 1 and len(losses) == 1
    assert isinstance(losses[0], StewardConflictError)
    # the loser is refused either by the version check or by the atomic claim
    assert losses[0].code == "CONFLICT" and "version" in str(losses[0])
    decisions = [
        d for d in await load_decisions(linked.store) if d.candidate_id == item.candidate_id
    ]
    assert [d.decision_id for d in decisions] == [wins[0].decision_id]
    rows = await linked.steward.candidate(item.candidate_id)
    assert rows["candidate"]["version"] == 1
    # a stale version is refused too, and a decided candidate needs an explicit version
    with pytest.raises(StewardConflictError):
        await linked.steward.decide_match(STEWARD, item.candidate_id, "DEFER", "later")
    with pytest.raises(StewardConflictError):
        await linked.steward.decide_match(
            STEWARD, item.candidate_id, "DEFER", "later", expected_version=0
        )


async def test_every_decision_is_in_the_audit_chain(linked: Linked) -> None:
    item = await _top_candidate(linked)
    first = await linked.steward.decide_match(STEWARD, item.candidate_id, "LINK", "same")
    await linked.steward.decide_match(
        STEWARD, item.candidate_id, "NO_LINK", "no, twins", expected_version=1
    )
    pid, keys = multi_record_person(await linked.persons(), size=2)
    await linked.steward.unlink_record(STEWARD, keys[0], "wrong record")
    decisions = await load_decisions(linked.store)
    assert len(decisions) == 3
    entries = {e.seq: e for e in await AuditLog(linked.store).page(after_seq=0, limit=100)}
    for d in decisions:
        assert d.audit_seq in entries, f"decision {d.decision_id} not tied to an audit entry"
        entry = entries[d.audit_seq]
        assert f"decision={d.decision_id}" in entry.action
        assert f"sha256={d.content_hash}" in entry.action
        assert content_hash(d.content()) == d.content_hash  # the stored content is intact
        assert entry.user == d.user == STEWARD.name
        assert d.reason in (entry.purpose or "")
        assert set(d.record_keys) <= set(entry.records)
    # the reversal names what it supersedes, in the graph and in the audit entry
    second = decisions[1]
    assert second.supersedes == [first.decision_id]
    assert f"supersedes={first.decision_id}" in entries[second.audit_seq].action
    result = await verify_chain(linked.store)
    assert result.ok and result.entries == 3


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.PARTNER_SYSTEM, Role.AUDITOR, Role.ADMIN])
async def test_only_stewards_decide(linked: Linked, role: Role) -> None:
    item = await _top_candidate(linked)
    intruder = Actor("someone", role)
    with pytest.raises(StewardForbiddenError):
        await linked.steward.decide_match(intruder, item.candidate_id, "LINK", "trust me")
    pid, keys = multi_record_person(await linked.persons(), size=2)
    with pytest.raises(StewardForbiddenError):
        await linked.steward.unlink_record(intruder, keys[0], "trust me")
    assert await load_decisions(linked.store) == []
    out = await linked.steward.decide_match(STEWARD, item.candidate_id, "DEFER", "needs a look")
    assert out.decision == "DEFER" and out.audit_seq == 1


async def test_bad_input_is_refused_without_a_decision(linked: Linked) -> None:
    item = await _top_candidate(linked)
    with pytest.raises(StewardBadInputError, match="reason"):
        await linked.steward.decide_match(STEWARD, item.candidate_id, "LINK", " x ")
    pid, keys = multi_record_person(await linked.persons(), size=2)
    with pytest.raises(StewardBadInputError):
        await linked.steward.split_person(STEWARD, pid, keys, "all of them")
    with pytest.raises(StewardBadInputError):
        await linked.steward.merge_persons(STEWARD, [pid, pid], "the same id twice")
    assert await load_decisions(linked.store) == []


async def test_the_claim_statement_checks_and_bumps_the_version_atomically(
    linked: Linked,
) -> None:
    queue = await load_queue(linked.store)
    cid = queue[-1].candidate_id

    def claim(decision_id: str):
        return linked.store.query(
            "steward_candidate_claim",
            candidate_id=cid,
            expected_version=0,
            status="linked",
            decision="LINK",
            user="u",
            role="data_steward",
            at="2024-01-01T00:00:00",
            reason="r",
            decision_id=decision_id,
            person_ids=[],
            record_keys=[],
            pairs="[]",
            before="{}",
            after="{}",
            content_hash="",
            override=None,
            purpose=None,
        )

    results = await asyncio.gather(*(claim(f"d-test-{k}") for k in range(4)))
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    assert [r for r in results if r][0][0]["version"] == 1
    assert len([d for d in await load_decisions(linked.store) if d.candidate_id == cid]) == 1
