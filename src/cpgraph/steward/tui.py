"""`cpgraph review`: walk the review queue in a terminal (no browser needed).

Each candidate is shown with both records side by side (differences highlighted),
the weight waterfall and what accepting would change; keys: ``a`` accept (LINK),
``r`` reject (NO_LINK), ``s`` skip (DEFER), ``q`` quit, each decision with a reason.
The steward signs in with their API token (``CPGRAPH_TOKEN``, ``--token-file`` or a
hidden prompt), resolved like the API resolves a bearer token, and must hold the
data_steward role; every candidate shown and every decision taken is audited, as
through the API. The queue is read a page at a time from its stored order, so the
first pair shows at once whatever the queue's length. Input is read line by line, so
a session can be scripted through stdin.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cpgraph.config import Settings
from cpgraph.errors import ConfigError
from cpgraph.runtime import run_with_store
from cpgraph.security.audit import AuditLog
from cpgraph.security.purpose import parse_purpose
from cpgraph.security.roles import Role
from cpgraph.security.users import authenticate
from cpgraph.steward.decisions import DEFER, LINK, NO_LINK, Actor
from cpgraph.steward.errors import (
    StewardBadInputError,
    StewardConflictError,
    StewardForbiddenError,
)
from cpgraph.steward.queue import QueueFilter, QueueItem, candidate_item, queue_page
from cpgraph.steward.service import StewardService
from cpgraph.store import GraphStore
from cpgraph.terminal import console

TOKEN_ENV = "CPGRAPH_TOKEN"
REVIEW_ROLES = frozenset({Role.DATA_STEWARD})
PAGE = 10
PROMPT = "[a]ccept  [r]eject  [s]kip  [q]uit > "

DEFAULT_PURPOSE = "DQ-REVIEW; match review queue"
SKIP_REASON = "deferred in terminal review"
FIELDS = (
    ("key", "key"),
    ("agency", "agency"),
    ("forename", "forename"),
    ("middle names", "middle_names"),
    ("surname", "surname"),
    ("aliases", "aliases"),
    ("date of birth", "dob"),
    ("sex", "sex"),
    ("postcode", "postcode"),
    ("address", "address"),
    ("NHS number", "nhs_number"),
    ("UPN", "upn"),
    ("PNC id", "pnc_id"),
    ("prison number", "prison_number"),
)
KEYS = {"a": LINK, "r": NO_LINK, "s": DEFER}

ReadLine = Callable[[str], str]


@dataclass
class ReviewSummary:
    """What a terminal session did."""

    shown: int = 0
    decided: dict[str, int] = field(default_factory=lambda: {LINK: 0, NO_LINK: 0, DEFER: 0})
    conflicts: int = 0
    decision_ids: list[str] = field(default_factory=list)


def _value(props: dict[str, Any], name: str) -> str:
    v = props.get(name)
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    return "" if v is None else str(v)


def render_item(console: Console, item: QueueItem, n: int, total: int | None = None) -> None:
    """Print one candidate: header, records side by side, waterfall, impact.

    Every recorded value is printed literally (markup escaped) and wide values wrap
    within their column rather than being cut.
    """
    of = f"/{total}" if total else ""
    flags = (" [yellow]STALE: a record changed since it was scored[/]" if item.stale else "") + (
        " [red]flagged child[/]" if item.flagged else ""
    )
    console.rule(
        f"[bold]{n}{of}[/]  candidate {escape(item.candidate_id)}  "
        f"p={item.probability:.3f}  weight {item.weight:+.2f} bits  "
        f"consequence {item.consequence:.1f}  kept apart: {escape(item.reason)}{flags}"
    )
    side = Table(title="as recorded", show_lines=False, expand=True)
    side.add_column("", no_wrap=True)
    side.add_column("record A", overflow="fold", ratio=1)
    side.add_column("record B", overflow="fold", ratio=1)
    for label, name in FIELDS:
        a, b = _value(item.record_a, name), _value(item.record_b, name)
        if not a and not b:
            continue
        style = "" if a == b or name in ("key", "agency") else "yellow"
        side.add_row(label, escape(a), escape(b), style=style)
    pa, pb = item.person_a, item.person_b
    side.add_row(
        "person now",
        f"{escape(pa.person_id)} ({len(pa.record_keys)} records)" if pa else "-",
        f"{escape(pb.person_id)} ({len(pb.record_keys)} records)" if pb else "-",
    )
    console.print(side)
    water = Table(title="match weight")
    water.add_column("comparison", overflow="fold")
    water.add_column("level", overflow="fold")
    for col in ("bits", "cumulative", ""):
        water.add_column(col, no_wrap=True)
    for step in item.steps:
        if step.level == "missing":
            continue
        n_bar = min(int(abs(step.contribution)), 20)
        bar = (
            ("[green]" + "+" * n_bar + "[/]")
            if step.contribution >= 0
            else ("[red]" + "-" * n_bar + "[/]")
        )
        water.add_row(
            escape(step.label),
            escape(step.level),
            f"{step.contribution:+.2f}",
            f"{step.cumulative:+.2f}",
            bar,
        )
    console.print(water)
    reasons = ", ".join(r.value for r in item.impact.reasons) or "none"
    console.print(f"if accepted: {escape(item.impact.summary)}", highlight=False)
    console.print(f"why it matters: {reasons}", highlight=False)


async def _walk(store: GraphStore, filters: QueueFilter) -> AsyncIterator[QueueItem]:
    """The queue in its stored order, a page at a time."""
    after = ""
    while True:
        page = await queue_page(store, first=PAGE, after=after, filters=filters)
        for item in page.items:
            yield item
        if not page.has_next or not page.items:
            return
        after = page.items[-1].sort_key


def _ask(read_line: ReadLine, prompt: str) -> str | None:
    try:
        return read_line(prompt).strip()
    except EOFError:
        return None


async def review_session(
    store: GraphStore,
    actor: Actor,
    purpose: str,
    *,
    read_line: ReadLine,
    console: Console,
    limit: int = 50,
    include_deferred: bool = False,
    audit: AuditLog | None = None,
) -> ReviewSummary:
    """Walk the queue, most consequential first, deciding as the steward types.

    Args:
        store: a started store.
        actor: the steward (role checked here).
        purpose: ``'<case reference>; <reason>'`` for the audit entries of what is shown.
        read_line: reads one line after printing a prompt (``input``-like; EOFError
            ends the session).
        console: where to draw.
        limit: candidates to show at most.
        include_deferred: also walk candidates deferred earlier.
        audit: the audit log (default: one on `store`).

    Raises:
        StewardForbiddenError: the actor may not decide matches.
        PurposeRequiredError: malformed purpose.
    """
    if actor.role not in REVIEW_ROLES:
        raise StewardForbiddenError(
            f"role {actor.role.value} may not review matches (data_steward only)"
        )
    stated = parse_purpose(purpose)
    audit = audit or AuditLog(store)
    service = StewardService(store, audit)
    statuses = ("open", "deferred") if include_deferred else ("open",)
    filters = QueueFilter(statuses=statuses)
    summary = ReviewSummary()
    n = 0
    decided_any = False
    async for listed in _walk(store, filters):
        if n >= limit:
            break
        item: QueueItem | None = listed
        if decided_any:
            # a decision may have settled it since its page was read (one indexed read)
            item = await candidate_item(store, listed.candidate_id)
            if item is None or item.status not in statuses:
                continue
        assert item is not None
        n += 1
        persons = [p.person_id for p in (item.person_a, item.person_b) if p]
        await audit.append(
            user=actor.name,
            role=actor.role.value,
            action="review:terminal",
            persons=persons,
            records=[item.key_a, item.key_b],
            fields=["ReviewItem.terminal"],
            purpose=str(stated),
        )
        summary.shown += 1
        render_item(console, item, n)
        key = None
        while key not in ("a", "r", "s", "q"):
            # prompts go through rich: "[a]" would be taken for markup, not shown
            answer = _ask(read_line, escape(PROMPT))
            if answer is None:
                key = "q"
                break
            key = answer[:1].lower()
        if key == "q":
            break
        decision = KEYS[key]
        reason = _ask(read_line, "reason > ")
        if reason is None:
            break
        if not reason and decision == DEFER:
            reason = SKIP_REASON
        try:
            out = await service.decide_match(
                actor,
                item.candidate_id,
                decision,
                reason,
                expected_version=item.version,
                purpose=str(stated),
            )
        except StewardConflictError as exc:
            summary.conflicts += 1
            console.print(f"[yellow]not recorded:[/] {escape(str(exc))}", highlight=False)
            continue
        except StewardBadInputError as exc:
            console.print(f"[yellow]not recorded:[/] {escape(str(exc))}", highlight=False)
            continue
        decided_any = True
        summary.decided[decision] += 1
        summary.decision_ids.append(out.decision_id)
        console.print(
            f"[green]recorded[/] {decision} as decision {out.decision_id} "
            f"(audit entry {out.audit_seq})",
            highlight=False,
        )
    if n == 0:
        console.print("the review queue is empty")
        return summary
    console.print(
        f"reviewed {summary.shown}: {summary.decided[LINK]} linked, "
        f"{summary.decided[NO_LINK]} rejected, {summary.decided[DEFER]} deferred, "
        f"{summary.conflicts} conflicts"
    )
    return summary


async def steward_from_token(store: GraphStore, token: str | None) -> Actor:
    """The steward a token belongs to, resolved as the API resolves a bearer token.

    Raises:
        StewardForbiddenError: no active user has that token, or not a data_steward.
    """
    principal = await authenticate(store, (token or "").strip() or None)
    if principal is None:
        raise StewardForbiddenError("that token belongs to no active user")
    if principal.role not in REVIEW_ROLES:
        raise StewardForbiddenError(
            f"role {principal.role.value} may not review matches (data_steward only)"
        )
    return Actor(principal.name, principal.role)


def read_token(token_file: Path | None) -> str:
    """The steward's token: from `token_file`, else ``CPGRAPH_TOKEN``, else a hidden
    prompt when a terminal is attached.

    Raises:
        ConfigError: no token anywhere, or the file cannot be read.
    """
    if token_file is not None:
        try:
            return token_file.expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the token file ({type(exc).__name__})") from None
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    if sys.stdin.isatty():
        return getpass.getpass("API token: ").strip()
    raise ConfigError(f"give your API token in {TOKEN_ENV} or with --token-file")


def review_command(
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help=f"File holding your API token (default: ${TOKEN_ENV}, else a prompt).",
        ),
    ] = None,
    purpose: Annotated[
        str,
        typer.Option("--purpose", help="'<case reference>; <reason>' recorded in the audit log."),
    ] = DEFAULT_PURPOSE,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="Candidates to walk at most.")
    ] = 50,
    include_deferred: Annotated[
        bool, typer.Option("--include-deferred", help="Also walk deferred candidates.")
    ] = False,
) -> None:
    """Walk the review queue in the terminal: a=accept, r=reject, s=skip, q=quit."""

    token = read_token(token_file)

    async def body(store: GraphStore, settings: Settings) -> ReviewSummary:
        actor = await steward_from_token(store, token)
        return await review_session(
            store,
            actor,
            purpose,
            read_line=console.input,
            console=console,
            limit=limit,
            include_deferred=include_deferred,
        )

    run_with_store(body)
