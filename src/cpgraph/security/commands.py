"""CLI command bodies for `cpgraph users add` and `cpgraph audit verify`.

The CLI wires them (`users_app.command("add")(cli_errors(users_add_command))`);
they import the CLI helpers lazily so there is no import cycle.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cpgraph.config import Settings
from cpgraph.security.audit import VerifyResult, verify_chain
from cpgraph.security.roles import Role
from cpgraph.security.users import add_user
from cpgraph.store import GraphStore

_ROLES = ", ".join(r.value for r in Role)


def users_add_command(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -).")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {_ROLES}.")],
) -> None:
    """Add an API user and print their bearer token once (only its hash is stored)."""
    from cpgraph.cli import console, run_with_store  # noqa: PLC0415 — avoid an import cycle

    async def body(store: GraphStore, settings: Settings) -> str:
        await store.bootstrap()  # the uniqueness constraints on users
        return await add_user(store, name, role)

    token = run_with_store(body)
    console.print(f"user {name} added with role {Role(role).value}")
    console.print("bearer token (shown once, store it now):", highlight=False)
    # Plain print: no wrapping or markup, so the token can be copied as is.
    print(token)


def audit_verify_command() -> None:
    """Verify the audit hash chain end to end; exit 1 if any entry fails."""
    from cpgraph.cli import console, err_console, run_with_store  # noqa: PLC0415

    async def body(store: GraphStore, settings: Settings) -> VerifyResult:
        return await verify_chain(store)

    result = run_with_store(body)
    if result.ok:
        console.print(
            f"audit chain verified: {result.entries} entries, head {result.head_hash[:16]}…"
        )
        return
    err_console.print(
        f"[bold red]audit chain broken[/] at entry {result.first_bad_seq} "
        f"({result.entries} entries checked)"
    )
    for problem in result.problems:
        err_console.print(f"  {problem}", highlight=False)
    raise typer.Exit(1)
