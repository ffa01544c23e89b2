"""CLI command bodies: `cpgraph users add|list|revoke|rotate`, `audit verify`,
`audit reanchor`, `db reset`.

The CLI wires them (`users_app.command("add")(cli_errors(users_add_command))`).
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from cpgraph.config import Settings
from cpgraph.runtime import run_with_store
from cpgraph.security.anchor import retire_anchor
from cpgraph.security.audit import AuditLog, VerifyResult, reanchor, verify_chain
from cpgraph.security.roles import Role
from cpgraph.security.users import UserInfo, add_user, list_users, revoke_user, rotate_token
from cpgraph.store import GraphStore
from cpgraph.terminal import console, err_console

_ROLES = ", ".join(r.value for r in Role)
_RESET_BATCH = 10_000


async def _audit_users(store: GraphStore, settings: Settings, action: str) -> None:
    # who changed which account, in the same chain as every disclosure
    await AuditLog(store, settings).append(
        user=f"cli:{getpass.getuser()}", role="admin", action=action
    )


def _print_token(token: str) -> None:
    console.print("bearer token (shown once, store it now):", highlight=False)
    # Plain print: no wrapping or markup, so the token can be copied as is.
    print(token)


def users_add_command(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -).")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {_ROLES}.")],
    expires_in_days: int | None = None,
) -> None:
    """Add an API user and print their bearer token once (only its hash is stored)."""

    async def body(store: GraphStore, settings: Settings) -> str:
        await store.bootstrap()  # the uniqueness constraints on users
        token = await add_user(store, name, role, expires_in_days=expires_in_days)
        await _audit_users(store, settings, f"users:add {name} role={Role(role).value}")
        return token

    token = run_with_store(body)
    console.print(f"user {name} added with role {Role(role).value}")
    _print_token(token)


def users_list_command() -> None:
    """List users: name, role, created, expires, revoked, status (never a token or hash)."""

    async def body(store: GraphStore, settings: Settings) -> list[UserInfo]:
        return await list_users(store)

    users = run_with_store(body)
    if not users:
        console.print("no users")
        return
    print("name\trole\tcreated\texpires\trevoked\tstatus")
    for u in users:
        expires = (u.expires_at or "-") + ("" if u.expiry_stored else " (default)")
        print(
            f"{u.name}\t{u.role}\t{u.created_at or '-'}\t{expires}\t"
            f"{u.revoked_at or '-'}\t{u.status()}"
        )


def users_revoke_command(name: str) -> None:
    """Revoke a user's token for good (the user stays listed, as revoked)."""

    async def body(store: GraphStore, settings: Settings) -> str:
        at = await revoke_user(store, name)
        await _audit_users(store, settings, f"users:revoke {name}")
        return at

    at = run_with_store(body)
    console.print(f"user {name} revoked at {at}; its token no longer works", highlight=False)


def users_rotate_command(name: str, expires_in_days: int | None = None) -> None:
    """Give a user a new token, printed once; the old token stops working at once."""

    async def body(store: GraphStore, settings: Settings) -> str:
        token = await rotate_token(store, name, expires_in_days=expires_in_days)
        await _audit_users(store, settings, f"users:rotate {name}")
        return token

    token = run_with_store(body)
    console.print(f"user {name}: token rotated; the old token no longer works")
    _print_token(token)


def audit_verify_command() -> None:
    """Verify the audit hash chain end to end; exit 1 if any entry fails."""

    async def body(store: GraphStore, settings: Settings) -> VerifyResult:
        return await verify_chain(store)

    result = run_with_store(body)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)
    if result.ok:
        console.print(
            f"audit chain verified: {result.entries} entries, head {result.head_hash[:16]}…"
        )
        return
    if result.first_bad_seq is not None:
        where = f"at entry {result.first_bad_seq}"
    elif result.missing_after is not None:
        where = f"entries missing after seq {result.missing_after}"
    else:
        where = "its anchor does not verify"
    err_console.print(
        f"[bold red]audit chain broken[/] {where} ({result.entries} entries checked)",
        highlight=False,
    )
    for problem in result.problems:
        err_console.print(f"  {problem}", highlight=False)
    raise typer.Exit(1)


async def reset_graph(store: GraphStore, settings: Settings, *, include_audit: bool) -> int:
    """Delete the graph's data, keeping the audit log and the users unless told otherwise.

    Without ``include_audit`` every node except ``AuditEntry`` and ``User`` is
    deleted (in batches), the schema is recreated, and the reset itself is
    audited. With it the whole graph goes, and the anchor file is moved aside
    (kept, read-only, as evidence of the chain that was deleted) so a new chain
    starts cleanly.

    Returns:
        How many nodes were deleted (-1: the whole graph was dropped).
    """
    if include_audit:
        await store.reset()
        await store.bootstrap()
        retire_anchor(settings, "reset")
        # The new chain starts by saying why it is new.
        await AuditLog(store, settings).append(
            user=f"cli:{getpass.getuser()}", role="admin", action="db:reset-including-audit"
        )
        return -1
    deleted = 0
    while True:
        rows = await store.query("reset_data_keep_audit", batch=_RESET_BATCH)
        n = int(rows[0]["deleted"]) if rows else 0
        deleted += n
        if n == 0:
            break
    await store.bootstrap()
    await AuditLog(store, settings).append(
        user=f"cli:{getpass.getuser()}", role="admin", action="db:reset"
    )
    return deleted


def audit_reanchor_command(
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: accept the chain as it stands now.")
    ] = False,
) -> None:
    """Re-create a missing anchor file for a chain that still verifies under its key."""
    if not yes:
        err_console.print(
            "[bold red]error:[/] re-anchoring accepts the chain as it stands (a cut at its "
            "end would go unnoticed); restore audit.anchor from backup if you can, else "
            "confirm with --yes"
        )
        raise typer.Exit(2)

    async def body(store: GraphStore, settings: Settings) -> VerifyResult:
        return await reanchor(store, settings)

    result = run_with_store(body)
    console.print(f"audit chain re-anchored: {result.entries} entries, verified: {result.ok}")
