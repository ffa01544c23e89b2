"""`cpgraph review`: the terminal walk of the queue, scripted through its input."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from rich.console import Console
from rich.markup import escape
from steward_helpers import STEWARD, Linked

from cpgraph.security import Role, add_user, verify_chain
from cpgraph.security.audit import AuditLog
from cpgraph.steward import Actor, StewardForbiddenError
from cpgraph.steward.decisions import load_decisions
from cpgraph.steward.queue import candidate_item, load_queue
from cpgraph.steward.tui import PROMPT, render_item, review_session, steward_from_token
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
    assert prompts.count(escape(PROMPT)) == 3  # "x" is asked again
    text = out.getvalue()
    assert queue[0].key_a in text and queue[0].key_b in text and "match weight" in text
    assert "if accepted:" in text
    decisions = await load_decisions(linked.store)
    assert [(d.candidate_id, d.decision) for d in decisions][0] == (queue[0].candidate_id, "LINK")
    # the next pair shown is the next one the LINK did not settle (settled ones left)
    second = [it.candidate_id for it in queue].index(decisions[1].candidate_id)
    skipped = [await candidate_item(linked.store, it.candidate_id) for it in queue[1:second]]
    assert decisions[1].decision == "DEFER" and all(i and i.status == "settled" for i in skipped)
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
    ivy = await add_user(linked.store, "ivy", Role.INVESTIGATOR)
    sam = await add_user(linked.store, "sam", Role.DATA_STEWARD)
    with pytest.raises(StewardForbiddenError, match="investigator"):
        await steward_from_token(linked.store, ivy)
    with pytest.raises(StewardForbiddenError, match="no active user"):
        await steward_from_token(linked.store, "cpg_" + "x" * 43)
    with pytest.raises(StewardForbiddenError, match="no active user"):
        await steward_from_token(linked.store, "")
    assert await steward_from_token(linked.store, sam) == Actor("sam", Role.DATA_STEWARD)
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


async def test_prompts_and_values_print_literally_and_wide_fields_wrap(linked: Linked) -> None:
    item = (await load_queue(linked.store))[0]
    long_address = "Flat [b]9[/b], " + " ".join(f"Block{i}" for i in range(30)) + " END"
    item.record_a = {**item.record_a, "address": long_address}
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False)
    render_item(console, item, 1)
    # the session's prompt goes through rich's input: the keys must show literally
    console.input(escape(PROMPT), stream=io.StringIO("q\n"))
    text = out.getvalue()
    assert "[a]ccept  [r]eject  [s]kip  [q]uit" in text
    assert "[b]9[/b]" in text  # a recorded value is shown as it is, not as markup
    assert "END" in text and "Block29" in text  # wrapped within its column, not cut
    assert max(len(line) for line in text.splitlines()) <= 80


async def test_review_command_reads_keys_from_stdin(linked: Linked) -> None:
    sam = await add_user(linked.store, "sam", Role.DATA_STEWARD)
    ivy = await add_user(linked.store, "ivy", Role.INVESTIGATOR)
    first = (await load_queue(linked.store))[0]
    token_file = linked.settings.data_dir.parent / "sam.token"
    token_file.write_text(sam + "\n", encoding="utf-8")
    await linked.store.close()  # the command owns the embedded store now
    env = {
        **os.environ,
        "CPGRAPH_DATA_DIR": str(linked.settings.data_dir),
        "CPGRAPH_BACKEND": "falkordb",
        "COLUMNS": "140",
    }
    env.pop("CPGRAPH_FALKORDB_URL", None)
    run = subprocess.run(
        [*CLI, "--token-file", str(token_file), "--limit", "2"],
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
        [*CLI],
        input="a\nx\n",
        capture_output=True,
        text=True,
        env={**env, "CPGRAPH_TOKEN": ivy},
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
