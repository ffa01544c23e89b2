"""`cpgraph review`: the terminal walk of the queue, scripted through its input."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from rich.console import Console
from steward_helpers import STEWARD, Linked

from cpgraph.security import Role, add_user, verify_chain
from cpgraph.security.audit import AuditLog
from cpgraph.steward import Actor, StewardForbiddenError
from cpgraph.steward.decisions import load_decisions
from cpgraph.steward.queue import load_queue
from cpgraph.steward.tui import review_session, steward_actor
from cpgraph.store import create_store

PURPOSE = "DQ-2024-07; weekly match review"
CLI = [sys.executable, "-m", "cpgraph.cli", "review"]


def _script(*lines: str):
    feed = iter(lines)
    prompts: list[str] = []

    def read_line(prompt: str) -> str:
        prompts.append(prompt)
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    return read_line, prompts


async def test_session_accepts_skips_and_quits(linked: Linked) -> None:
    queue = await load_queue(linked.store)
    assert len(queue) >= 2
    read_line, prompts = _script("x", "a", "same person, typo", "s", "")
    out = io.StringIO()
    summary = await review_session(
        linked.store,
        STEWARD,
        PURPOSE,
        read_line=read_line,
        console=Console(file=out, width=140),
        limit=2,
    )
    assert summary.decided == {"LINK": 1, "NO_LINK": 0, "DEFER": 1}
    assert summary.shown == 2 and prompts.count("reason > ") == 2
    assert prompts.count("[a]ccept  [r]eject  [s]kip  [q]uit > ") == 3  # "x" is asked again
    text = out.getvalue()
    assert queue[0].key_a in text and queue[0].key_b in text and "match weight" in text
    assert "if accepted:" in text
    decisions = await load_decisions(linked.store)
    assert [(d.candidate_id, d.decision) for d in decisions] == [
        (queue[0].candidate_id, "LINK"),
        (queue[1].candidate_id, "DEFER"),
    ]
    assert decisions[1].reason == "deferred in terminal review"
    entries = await AuditLog(linked.store).page(after_seq=0, limit=20)
    # shown, decided, shown, decided
    assert [e.action.split(" ")[0] for e in entries] == [
        "review:terminal",
        "steward:match:LINK",
        "review:terminal",
        "steward:match:DEFER",
    ]
    assert entries[0].purpose == PURPOSE and queue[0].key_a in entries[0].records
    assert (await verify_chain(linked.store)).ok


async def test_only_stewards_may_review(linked: Linked) -> None:
    await add_user(linked.store, "ivy", Role.INVESTIGATOR)
    await add_user(linked.store, "sam", Role.DATA_STEWARD)
    with pytest.raises(StewardForbiddenError, match="investigator"):
        await steward_actor(linked.store, "ivy")
    with pytest.raises(StewardForbiddenError, match="no active user"):
        await steward_actor(linked.store, "nobody")
    assert await steward_actor(linked.store, "sam") == Actor("sam", Role.DATA_STEWARD)
    read_line, _ = _script("a", "reason")
    with pytest.raises(StewardForbiddenError):
        await review_session(
            linked.store,
            Actor("ivy", Role.INVESTIGATOR),
            PURPOSE,
            read_line=read_line,
            console=Console(file=io.StringIO()),
        )
    assert await load_decisions(linked.store) == []


async def test_review_command_reads_keys_from_stdin(linked: Linked) -> None:
    await add_user(linked.store, "sam", Role.DATA_STEWARD)
    await add_user(linked.store, "ivy", Role.INVESTIGATOR)
    first = (await load_queue(linked.store))[0]
    await linked.store.close()  # the command owns the embedded store now
    env = {
        **os.environ,
        "CPGRAPH_DATA_DIR": str(linked.settings.data_dir),
        "CPGRAPH_BACKEND": "falkordb",
        "COLUMNS": "140",
    }
    env.pop("CPGRAPH_FALKORDB_URL", None)
    run = subprocess.run(
        [*CLI, "--user", "sam", "--limit", "2"],
        input="r\nnot the same: different school\nq\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "recorded NO_LINK" in run.stdout and "1 rejected" in run.stdout
    denied = subprocess.run(
        [*CLI, "--user", "ivy"],
        input="a\nx\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert denied.returncode == 1 and "may not review" in denied.stderr
    async with create_store(linked.settings) as store:
        decisions = await load_decisions(store)
        assert [(d.candidate_id, d.decision, d.user) for d in decisions] == [
            (first.candidate_id, "NO_LINK", "sam")
        ]
        assert (await verify_chain(store)).ok
