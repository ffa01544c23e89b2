"""`cpgraph review`: walk the review queue in a terminal (no browser needed).

Each candidate is shown with both records side by side (differences highlighted),
the weight waterfall and what accepting would change; keys: ``a`` accept (LINK),
``r`` reject (NO_LINK), ``s`` skip (DEFER), ``q`` quit, each decision with a reason.
The steward is named with ``--user`` and must hold the data_steward or admin role;
every candidate shown and every decision taken is audited, as through the API.
Input is read line by line, so a session can be scripted through stdin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cpgraph.config import Settings
from cpgraph.security.audit import AuditLog
from cpgraph.security.purpose import parse_purpose
from cpgraph.security.roles import Role
from cpgraph.steward.decisions import DEFER, LINK, NO_LINK, Actor
from cpgraph.steward.errors import (
    StewardBadInputError,
    StewardConflictError,
    StewardForbiddenError,
)
from cpgraph.steward.queue import QueueItem, QueueOrder, load_queue
from cpgraph.steward.service import STEWARD_ROLES, StewardService
from cpgraph.store import GraphStore

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


def render_item(console: Console, item: QueueItem, n: int, total: int) -> None:
    """Print one candidate: header, records side by side, waterfall, impact."""
    console.rule(
        f"[bold]{n}/{total}[/]  candidate {item.candidate_id}  "
        f"p={item.probability:.3f}  weight {item.weight:+.2f} bits  "
        f"consequence {item.consequence:.1f}"
    )
    side = Table("", "record A", "record B", title="as recorded", show_lines=False)
    for label, name in FIELDS:
        a, b = _value(item.record_a, name), _value(item.record_b, name)
        if not a and not b:
            continue
        style = "" if a == b or name in ("key", "agency") else "yellow"
        side.add_row(label, a, b, style=style)
    pa, pb = item.person_a, item.person_b
    side.add_row(
        "person now",
        f"{pa.person_id} ({len(pa.record_keys)} records)" if pa else "-",
        f"{pb.person_id} ({len(pb.record_keys)} records)" if pb else "-",
    )
    console.print(side)
    water = Table("comparison", "level", "bits", "cumulative", "", title="match weight")
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
            step.label, step.level, f"{step.contribution:+.2f}", f"{step.cumulative:+.2f}", bar
        )
    console.print(water)
    reasons = ", ".join(r.value for r in item.impact.reasons) or "none"
    console.print(f"if accepted: {item.impact.summary}", highlight=False)
    console.print(f"why it matters: {reasons}", highlight=False)


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
    if actor.role not in STEWARD_ROLES:
        raise StewardForbiddenError(
            f"role {actor.role.value} may not review matches (data_steward or admin only)"
        )
    stated = parse_purpose(purpose)
    audit = audit or AuditLog(store)
    service = StewardService(store, audit)
    statuses = ("open", "deferred") if include_deferred else ("open",)
    items = (await load_queue(store, statuses=statuses, order=QueueOrder.CONSEQUENCE))[:limit]
    summary = ReviewSummary()
    if not items:
        console.print("the review queue is empty")
        return summary
    for n, item in enumerate(items, 1):
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
        render_item(console, item, n, len(items))
        key = None
        while key not in ("a", "r", "s", "q"):
            answer = _ask(read_line, "[a]ccept  [r]eject  [s]kip  [q]uit > ")
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
                actor, item.candidate_id, decision, reason, expected_version=item.version
            )
        except StewardConflictError as exc:
            summary.conflicts += 1
            console.print(f"[yellow]not recorded:[/] {exc}", highlight=False)
            continue
        except StewardBadInputError as exc:
            console.print(f"[yellow]not recorded:[/] {exc}", highlight=False)
            continue
        summary.decided[decision] += 1
        summary.decision_ids.append(out.decision_id)
        console.print(
            f"[green]recorded[/] {decision} as decision {out.decision_id} "
            f"(audit entry {out.audit_seq})",
            highlight=False,
        )
    console.print(
        f"reviewed {summary.shown}: {summary.decided[LINK]} linked, "
        f"{summary.decided[NO_LINK]} rejected, {summary.decided[DEFER]} deferred, "
        f"{summary.conflicts} conflicts"
    )
    return summary


async def steward_actor(store: GraphStore, name: str) -> Actor:
    """The named user as an actor, if they may review matches.

    Raises:
        StewardForbiddenError: no such active user, or not a data_steward/admin.
    """
    rows = await store.query("steward_user_by_name", name=name)
    if not rows:
        raise StewardForbiddenError("no active user with that name")
    try:
        role = Role(rows[0]["role"])
    except ValueError:
        raise StewardForbiddenError("that user has no known role") from None
    actor = Actor(rows[0]["name"], role)
    if role not in STEWARD_ROLES:
        raise StewardForbiddenError(
            f"role {role.value} may not review matches (data_steward or admin only)"
        )
    return actor


def review_command(
    user: Annotated[
        str, typer.Option("--user", help="Your user name (role data_steward or admin).")
    ],
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
    from cpgraph.cli import console, run_with_store  # noqa: PLC0415 — avoid an import cycle

    async def body(store: GraphStore, settings: Settings) -> ReviewSummary:
        actor = await steward_actor(store, user)
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
