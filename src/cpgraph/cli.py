"""The `cpgraph` command line (typer + rich)."""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from cpgraph.config import Settings
from cpgraph.errors import ConfigError, CpgraphError
from cpgraph.store import GraphStore, create_store

app = typer.Typer(
    name="cpgraph",
    help="Cross-agency child-protection knowledge graph.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Graph store administration.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)


class _State:
    debug: bool = False


state = _State()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    state.debug = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def load_settings() -> Settings:
    """Read settings, turning validation problems into a one-line ConfigError."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def cli_errors[T](func: Callable[..., T]) -> Callable[..., T]:
    """Turn cpgraph errors into one red line and a non-zero exit (traceback with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        # SIGTERM takes the same clean path as Ctrl-C: finally blocks close the store.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            return func(*args, **kwargs)
        except CpgraphError as exc:
            if state.debug:
                raise
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper


def run_with_store[T](body: Callable[[GraphStore, Settings], Awaitable[T]]) -> T:
    """Start the configured store, run `body`, and always close the store."""
    settings = load_settings()

    async def _go() -> T:
        async with create_store(settings) as store:
            return await body(store, settings)

    return asyncio.run(_go())


@db_app.command("init")
@cli_errors
def db_init() -> None:
    """Create constraints and indexes (idempotent)."""

    async def body(store: GraphStore, settings: Settings) -> list[str]:
        return await store.bootstrap()

    created = run_with_store(body)
    if created:
        console.print(f"schema ready: created {len(created)} indexes/constraints")
    else:
        console.print("schema ready: nothing to create")


@db_app.command("status")
@cli_errors
def db_status() -> None:
    """Show backend, location and node/edge counts."""

    async def body(store: GraphStore, settings: Settings) -> tuple[Any, Any]:
        return await store.health(), await store.stats()

    health, stats = run_with_store(body)
    console.print(f"backend:  {health.backend} {health.version}".rstrip())
    console.print(f"location: {health.location}")
    console.print(f"status:   {'ok' if health.ok else 'unreachable ' + health.detail}")
    table = Table("kind", "name", "count", title="graph contents")
    for label, count in sorted(stats.nodes.items()):
        table.add_row("node", label, f"{count:,}")
    for rel, count in sorted(stats.edges.items()):
        table.add_row("edge", rel, f"{count:,}")
    if not stats.nodes:
        table.add_row("-", "(empty)", "0")
    console.print(table)


@db_app.command("reset")
@cli_errors
def db_reset(
    yes: Annotated[bool, typer.Option("--yes", help="Confirm deleting everything.")] = False,
) -> None:
    """Delete every node and edge, then recreate the schema."""
    if not yes:
        err_console.print("[bold red]error:[/] refusing to delete the graph without --yes")
        raise typer.Exit(2)

    async def body(store: GraphStore, settings: Settings) -> None:
        await store.reset()
        await store.bootstrap()

    run_with_store(body)
    console.print("graph reset: all data deleted, schema recreated")


def progress_bar() -> Progress:
    """The progress bar every long-running command uses."""
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )


@app.command("generate")
@cli_errors
def generate_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the extracts into.")],
    households: Annotated[int, typer.Option("--households", min=1, help="Family units.")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 42,
    error_rate: Annotated[
        float, typer.Option("--error-rate", min=0.0, max=0.5, help="Share of corrupted rows.")
    ] = 0.02,
) -> None:
    """Write a synthetic cross-agency population with its ground truth."""
    from cpgraph.generate import generate  # noqa: PLC0415 — keep CLI start-up fast

    with progress_bar() as bar:
        task = bar.add_task("generating households", total=households)
        summary = generate(
            out,
            households,
            seed,
            error_rate,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    table = Table("system", "person mentions", title=f"generated into {out}")
    for system, count in sorted(summary.mentions.items()):
        table.add_row(system, f"{count:,}")
    console.print(table)
    console.print(
        f"{summary.loadable_mentions:,} loadable mentions of {summary.persons:,} people; "
        f"{summary.quarantined:,} rows corrupted on purpose; "
        f"{summary.hard_negatives:,} hard-negative pairs; scenarios: "
        + ", ".join(f"{k} {v}" for k, v in sorted(summary.scenarios.items()))
    )


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:  # pragma: no cover - e.g. `cpgraph ... | head`
        sys.exit(0)


if __name__ == "__main__":  # `python -m cpgraph.cli`
    main()
