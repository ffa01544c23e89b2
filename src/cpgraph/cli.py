"""The `cpgraph` command line (typer + rich)."""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from cpgraph.config import LinkEngine, Settings, load_settings
from cpgraph.errors import ConfigError, CpgraphError
from cpgraph.runtime import run_with_store
from cpgraph.store import GraphStore
from cpgraph.terminal import console, err_console

app = typer.Typer(
    name="cpgraph",
    help="Cross-agency child-protection knowledge graph.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Graph store administration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
users_app = typer.Typer(help="API users and their tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")
quarantine_app = typer.Typer(help="Rows that could not be loaded.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")
export_app = typer.Typer(help="Export results.", no_args_is_help=True)
app.add_typer(export_app, name="export")
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


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
    yes: Annotated[bool, typer.Option("--yes", help="Confirm deleting the data.")] = False,
    include_audit: Annotated[
        bool,
        typer.Option("--include-audit", help="Also delete the audit log and the users."),
    ] = False,
    confirm_audit: Annotated[
        bool,
        typer.Option(
            "--i-understand-the-audit-log-is-lost",
            help="Second confirmation needed with --include-audit.",
        ),
    ] = False,
) -> None:
    """Delete the data (the audit log and users stay), then recreate the schema."""
    from cpgraph.security.commands import reset_graph  # noqa: PLC0415

    if not yes:
        err_console.print("[bold red]error:[/] refusing to delete the graph without --yes")
        raise typer.Exit(2)
    if include_audit and not confirm_audit:
        err_console.print(
            "[bold red]error:[/] --include-audit deletes the audit log and every user; "
            "confirm with --i-understand-the-audit-log-is-lost as well"
        )
        raise typer.Exit(2)

    async def body(store: GraphStore, settings: Settings) -> int:
        return await reset_graph(store, settings, include_audit=include_audit)

    run_with_store(body)
    if include_audit:
        console.print(
            "graph reset: all data, audit log and users deleted (the old anchor file is "
            "kept beside the new one), schema recreated"
        )
    else:
        console.print("graph reset: data deleted, audit log and users kept, schema recreated")


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


def stage_progress(bar: Progress, prefix: str = "") -> Callable[[str, int, int], None]:
    """A `(stage, done, total)` callback that keeps one bar per stage (total 0: unknown)."""
    tasks: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(prefix + stage, total=total or None)
        bar.update(tasks[stage], completed=done, total=total or None)

    return progress


def _list_profiles(value: bool) -> None:
    """``--list-profiles``: print the generator profiles and exit (before --out is checked)."""
    if not value:
        return
    from cpgraph.generate import PROFILES  # noqa: PLC0415

    table = Table("profile", "role", "what it varies", title="generator profiles")
    for p in PROFILES.values():
        table.add_row(p.name, p.role, p.description)
    console.print(table)
    raise typer.Exit()


@app.command("generate")
@cli_errors
def generate_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the extracts into.")],
    households: Annotated[int, typer.Option("--households", min=1, help="Family units.")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 42,
    error_rate: Annotated[
        float, typer.Option("--error-rate", min=0.0, max=0.5, help="Share of corrupted rows.")
    ] = 0.02,
    profile: Annotated[
        str, typer.Option("--profile", help="Generator profile (see --list-profiles).")
    ] = "default",
    list_profiles: Annotated[
        bool,
        typer.Option(
            "--list-profiles",
            is_eager=True,
            callback=_list_profiles,
            help="List the built-in generator profiles and exit.",
        ),
    ] = False,
    rate: Annotated[
        list[str] | None,
        typer.Option(
            "--rate",
            help="Override one of the profile's rates, NAME=VALUE (repeatable), e.g. "
            "--rate within_system_duplicates=0.08.",
        ),
    ] = None,
    export_style: Annotated[
        str,
        typer.Option(
            "--export-style",
            help="How the CSV extracts are written: 'contract' (plainly) or 'varied' (the "
            "same rows as other exports write them: UK dates, codes in words, names "
            "surname first, another column order...).",
        ),
    ] = "contract",
) -> None:
    """Write a synthetic cross-agency population with its ground truth."""
    from cpgraph.generate import (  # noqa: PLC0415 — keep CLI start-up fast
        EXPORT_STYLES,
        PROFILES,
        generate,
    )
    from cpgraph.generate.profile import with_rates  # noqa: PLC0415

    if export_style not in EXPORT_STYLES:
        raise typer.BadParameter(
            f"unknown export style {export_style!r}; one of: {', '.join(EXPORT_STYLES)}",
            param_hint="--export-style",
        )
    if profile not in PROFILES:
        raise typer.BadParameter(
            f"unknown profile {profile!r}; one of: {', '.join(PROFILES)}", param_hint="--profile"
        )
    overrides: dict[str, str] = {}
    for item in rate or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--rate")
        overrides[name.strip()] = value.strip()
    try:
        chosen = with_rates(PROFILES[profile], overrides)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--rate") from None
    with progress_bar() as bar:
        task = bar.add_task("generating households", total=households)
        summary = generate(
            out,
            households,
            seed,
            error_rate,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            profile=chosen,
            export_style=export_style,
        )
    table = Table("system", "person mentions", title=f"generated into {out} ({chosen.name})")
    for system, count in sorted(summary.mentions.items()):
        table.add_row(system, f"{count:,}")
    console.print(table)
    console.print(
        f"{summary.loadable_mentions:,} loadable mentions of {summary.persons:,} people; "
        f"{summary.quarantined:,} rows corrupted on purpose; "
        f"{summary.hard_negatives:,} hard-negative pairs; scenarios: "
        + ", ".join(f"{k} {v}" for k, v in sorted(summary.scenarios.items()))
    )


@app.command("link")
@cli_errors
def link_cmd(
    full: Annotated[
        bool, typer.Option("--full", help="Recompare every pair, not only new or changed.")
    ] = False,
    retrain: Annotated[
        bool,
        typer.Option(
            "--retrain", help="Re-estimate m/u from steward decisions (implies a full run)."
        ),
    ] = False,
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            help="Link with this linkage spec (TOML) instead of the packaged one; it is "
            "stored with the run.",
        ),
    ] = None,
    engine: Annotated[
        LinkEngine | None,
        typer.Option(
            "--engine",
            help="Where to score candidate pairs: local, or dask (a Dask cluster, "
            "docs/distributed.md). Default: CPGRAPH_LINK_ENGINE (local).",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="A Dask scheduler address (tcp://host:8786; implies --engine dask). Default: "
            "CPGRAPH_DASK_SCHEDULER, else a local cluster of CPGRAPH_DASK_WORKERS workers.",
        ),
    ] = None,
) -> None:
    """Resolve every loaded person mention to a person, then recompute safeguarding flags."""
    from cpgraph.flags.service import compute_flags, flags_cache_path  # noqa: PLC0415
    from cpgraph.linkage.spec import load_spec  # noqa: PLC0415
    from cpgraph.steward.linking import linkage_service  # noqa: PLC0415
    from cpgraph.steward.queue import refresh_flagged  # noqa: PLC0415

    # a bad spec fails here, in one line, before the store starts
    run_spec = load_spec(spec) if spec is not None else None

    with progress_bar() as bar:
        progress = stage_progress(bar)

        async def body(store: GraphStore, settings: Settings) -> Any:
            # a scheduler address alone means the Dask engine
            chosen = {
                "link_engine": engine or (LinkEngine.DASK if scheduler else None),
                "dask_scheduler": scheduler,
            }
            settings = settings.model_copy(
                update={k: v for k, v in chosen.items() if v is not None}
            )
            report = await linkage_service(store, settings, spec=run_spec).link(
                full=full, progress=progress, retrain=retrain
            )
            # Flags read person-level relationships: recompute after every link.
            progress("safeguarding flags", 0, 1)
            t0 = time.perf_counter()
            # only the flags the run's changes can reach, when the last flags run allows
            flags = await compute_flags(
                store,
                changed=report.changed_persons,
                cache=flags_cache_path(settings.data_dir, store.backend, settings.graph_name),
            )
            t1 = time.perf_counter()
            # the review queue's "flagged child" marks follow the new flags
            await refresh_flagged(store)
            report.timings["flags"] = t1 - t0
            report.timings["flagged_marks"] = time.perf_counter() - t1
            progress("safeguarding flags", 1, 1)
            return report, flags

        report, flags = run_with_store(body)
    table = Table(
        "", "count", title="linkage " + ("(incremental)" if report.incremental else "(full)")
    )
    table.add_row("person mentions", f"{report.mentions:,}")
    table.add_row("persons", f"{report.persons:,}")
    table.add_row("auto links", f"{report.auto_links:,}")
    table.add_row("review queue", f"{report.review_queue:,}")
    table.add_row("retired person ids", f"{report.retired:,}")
    for method, count in sorted(report.by_method.items()):
        table.add_row(f"  by {method}", f"{count:,}")
    console.print(table)
    console.print(
        f"safeguarding flags (as of {flags.as_of}): {flags.flags:,}"
        + (
            f" (recomputed for the {flags.persons:,} persons this run's changes reach)"
            if flags.scoped
            else f" on {flags.persons:,} persons"
        )
        + (
            ": " + ", ".join(f"{k} {v}" for k, v in sorted(flags.by_code.items()))
            if flags.by_code
            else ""
        )
    )
    console.print(
        "time: " + ", ".join(f"{k} {v:.1f}s" for k, v in report.timings.items() if v >= 0.05)
    )


@export_app.command("links")
@cli_errors
def export_links(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
) -> None:
    """Write `record_key,person_id,status` for every loaded person mention (mode 0600)."""
    from cpgraph.files import write_private_text  # noqa: PLC0415
    from cpgraph.linkage.service import LinkageService  # noqa: PLC0415

    async def body(store: GraphStore, settings: Settings) -> Any:
        return await LinkageService(store, settings).assignments()

    frame = run_with_store(body)
    frame["status"] = frame["status"].fillna("unlinked")
    write_private_text(out, frame.to_csv(index=False))
    console.print(f"wrote {len(frame):,} links to {out}")


@export_app.command("duplicates")
@cli_errors
def export_duplicates(
    system: Annotated[str, typer.Option("--system", help="Source system, e.g. wmp-niche.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write (mode 0600).")],
) -> None:
    """Suspected duplicates inside one system's own index, for its agency to check.

    One row per pair: `system,record_a,record_b,status,probability,reasons`; status
    `linked` (resolved to one person: the index holds one person twice) or `possible` /
    `deferred` (awaiting a steward). Record keys only, never names or dates of birth.
    """
    from cpgraph.files import write_private_text  # noqa: PLC0415
    from cpgraph.linkage.service import run_spec  # noqa: PLC0415
    from cpgraph.linkage.spec import load_spec  # noqa: PLC0415
    from cpgraph.steward.duplicates import duplicates_csv, system_duplicates  # noqa: PLC0415

    async def body(store: GraphStore, settings: Settings) -> Any:
        spec = await run_spec(store) or load_spec()
        return await system_duplicates(store, system, spec.master_kinds)

    pairs = run_with_store(body)
    write_private_text(out, duplicates_csv(pairs))
    linked = sum(p.status == "linked" for p in pairs)
    console.print(
        f"wrote {len(pairs):,} suspected duplicate pairs of {system} to {out} "
        f"({linked:,} linked, {len(pairs) - linked:,} awaiting a steward)"
    )


@app.command("evaluate")
@cli_errors
def evaluate_cmd(
    truth: Annotated[Path, typer.Option("--truth", help="truth.csv: record_key,true_person_id")],
    hard_negatives: Annotated[
        Path | None,
        typer.Option(
            "--hard-negatives", help="hard_negatives.csv (default: beside the truth file)."
        ),
    ] = None,
) -> None:
    """Pairwise and B-cubed precision/recall/F1 of the current links against a truth file."""
    import pandas as pd  # noqa: PLC0415

    from cpgraph.linkage.evaluate import evaluate  # noqa: PLC0415
    from cpgraph.linkage.service import LinkageService  # noqa: PLC0415

    try:
        truth_frame = pd.read_csv(truth, dtype=str)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read truth file {truth}: {type(exc).__name__}") from None
    if not {"record_key", "true_person_id"} <= set(truth_frame.columns):
        raise ConfigError("truth file needs columns record_key,true_person_id")
    hn_path = hard_negatives or truth.parent / "hard_negatives.csv"
    hn = pd.read_csv(hn_path, dtype=str) if hn_path.exists() else None

    async def body(store: GraphStore, settings: Settings) -> Any:
        return await LinkageService(store, settings).assignments()

    links = run_with_store(body).dropna(subset=["person_id"])
    result = evaluate(
        pd.Series(links["person_id"].to_numpy(), index=links["record_key"].to_numpy()),
        pd.Series(truth_frame["true_person_id"].to_numpy(), index=truth_frame["record_key"]),
        None
        if hn is None
        else list(hn[["record_key_a", "record_key_b", "kind"]].itertuples(index=False, name=None)),
    )
    table = Table("measure", "value", title=f"linkage against {truth.name}")
    for name in ("precision", "recall", "f1", "bcubed_precision", "bcubed_recall", "bcubed_f1"):
        table.add_row(name, f"{getattr(result, name):.4f}")
    table.add_row("mentions evaluated", f"{result.records:,}")
    table.add_row(
        "hard negatives merged", f"{result.hard_negative_merges} of {result.hard_negatives}"
    )
    for kind, count in sorted(result.hard_negative_merges_by_kind.items()):
        table.add_row(f"  {kind}", str(count))
    console.print(table)


@app.command("load")
@cli_errors
def load_cmd(
    folders: Annotated[list[Path], typer.Argument(help="Extract folders (manifest.json + files).")],
    allow_older: Annotated[
        bool, typer.Option("--allow-older", help="Load even if a newer extract is loaded.")
    ] = False,
    bulk: Annotated[
        str,
        typer.Option(
            "--bulk",
            help="Bulk initial load: auto (into an empty embedded/FalkorDB store), always "
            "(refuse a store that is not empty; Neo4j: write neo4j-admin import files), never.",
        ),
    ] = "auto",
    import_dir: Annotated[
        Path | None,
        typer.Option("--import-dir", help="Neo4j --bulk always: where to write the import files."),
    ] = None,
) -> None:
    """Load agency extracts: validate, normalise, quarantine bad rows, write the graph.

    Every folder is checked before anything is written; an unusable one stops
    the whole load with a clear message and a non-zero exit. Into an empty store
    the load takes the store's bulk path (same checks, quarantine and report).
    """
    from cpgraph.ingest import load_extracts, render_report  # noqa: PLC0415
    from cpgraph.ingest.bulk import BulkMode, bulk_applies, bulk_load_extracts  # noqa: PLC0415

    try:
        mode = BulkMode(bulk)
    except ValueError:
        raise ConfigError("--bulk must be auto, always or never") from None
    outcome: Any = None
    with progress_bar() as bar:
        progress = stage_progress(bar, prefix="loading ")

        async def body(store: GraphStore, settings: Settings) -> Any:
            nonlocal outcome
            await store.bootstrap()
            if await bulk_applies(store, mode):
                target = import_dir or settings.data_dir / "neo4j-import"
                reports, outcome = await bulk_load_extracts(
                    store, folders, progress=progress, allow_older=allow_older,
                    import_dir=target,
                )  # fmt: skip
                return reports
            return await load_extracts(store, folders, progress=progress, allow_older=allow_older)

        reports = run_with_store(body)
    for report in reports:
        console.print(render_report(report))
    read = sum(r.rows_read for r in reports)
    loaded = sum(r.rows_loaded for r in reports)
    quarantined = sum(r.rows_quarantined for r in reports)
    console.print(
        f"{len(reports)} extract(s): {read:,} rows read = {loaded:,} loaded + "
        f"{quarantined:,} quarantined; {sum(r.mentions for r in reports):,} person mentions"
    )
    if outcome is not None and outcome.command is not None:
        console.print(
            f"bulk: {outcome.nodes:,} nodes and {outcome.edges:,} edges written as import files "
            f"in {outcome.import_dir}; on the Neo4j server, with the database stopped, run "
            f"there:\n  {' '.join(outcome.command)}\nthen start it and run `cpgraph db init`.",
            highlight=False,
        )
    elif outcome is not None:
        console.print(
            f"bulk: {outcome.nodes:,} nodes and {outcome.edges:,} edges written in one piece "
            "(GRAPH.BULK), indexes and constraints built after",
            highlight=False,
        )


@quarantine_app.command("list")
@cli_errors
def quarantine_list(
    system: Annotated[str | None, typer.Option("--system", help="Only this system.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
    show_raw: Annotated[
        bool, typer.Option("--raw", help="Show the raw row content (personal data).")
    ] = False,
) -> None:
    """List quarantined rows: system, file, line, reason (and raw content with --raw)."""
    from cpgraph.ingest import list_quarantine  # noqa: PLC0415

    async def body(store: GraphStore, settings: Settings) -> Any:
        return await list_quarantine(store, system=system, limit=limit)

    rows = run_with_store(body)
    table = Table("system", "file", "line", "reason", *(["raw"] if show_raw else []))
    for row in rows:
        extra = [row.raw[:200]] if show_raw else []
        table.add_row(row.system, row.file, str(row.line), row.reason, *extra)
    console.print(table)
    console.print(f"{len(rows)} row(s) shown")


@app.command("loads")
@cli_errors
def loads_list(
    system: Annotated[str | None, typer.Option("--system", help="Only this system.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
) -> None:
    """List recorded loads, newest extract first: status and row counts.

    A load killed outright shows ``interrupted``: run the same `cpgraph load` again.
    """
    from cpgraph.ingest import list_loads  # noqa: PLC0415

    async def body(store: GraphStore, settings: Settings) -> Any:
        return await list_loads(store, system=system, limit=limit)

    rows = run_with_store(body)
    table = Table(
        "load", "extracted at", "status", "runs", "read", "loaded", "quarantined", "finished"
    )
    for row in rows:
        table.add_row(
            row["load_id"],
            str(row.get("extracted_at") or ""),
            str(row.get("status") or ""),
            str(row.get("runs") or ""),
            *(
                f"{row[n]:,}" if row.get(n) is not None else "-"
                for n in ("rows_read", "rows_loaded", "rows_quarantined")
            ),
            str(row.get("finished_at") or "-"),
        )
    console.print(table)
    if any(row.get("status") == "interrupted" for row in rows):
        console.print("interrupted: the loading process was killed; run the same load again")


@app.command("demo")
@cli_errors
def demo_cmd(
    folder: Annotated[
        Path, typer.Option("--dir", help="Where the demo keeps its extracts and database.")
    ] = Path("demo-data"),
    households: Annotated[int, typer.Option("--households", min=8)] = 300,
    seed: Annotated[int, typer.Option("--seed")] = 42,
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve GraphQL when ready.")
    ] = True,
    host: Annotated[str | None, typer.Option("--host", help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port.")] = None,
) -> None:
    """Generate a synthetic population, load it, link it, and serve GraphQL on it."""
    from cpgraph.demo import DEMO_USER, build_demo  # noqa: PLC0415

    base = load_settings()
    base = base.model_copy(update={"host": host or base.host, "port": port or base.port})
    with progress_bar() as bar:
        progress = stage_progress(bar)

        info = asyncio.run(
            build_demo(base, folder, households=households, seed=seed, progress=progress)
        )
    console.print(
        f"demo ready: {info.mentions_loaded:,} person mentions loaded "
        f"({info.quarantined:,} bad rows quarantined), {info.link.persons:,} persons, "
        f"{info.link.review_queue:,} matches for review, {info.flags.flags:,} safeguarding "
        f"flags; scenarios: " + ", ".join(f"{k} {v}" for k, v in sorted(info.scenarios.items()))
    )
    console.print(f"extracts: {info.extracts}   database: {info.settings.data_dir}")
    console.print(f"\nbearer token for [bold]{DEMO_USER}[/] (role investigator):")
    print(info.token)
    if info.example_name:
        console.print(
            f"\nexample: the profile of a child in a new-partner scenario "
            f"({info.example_person_id}):"
        )
    console.print(info.curl(base.host, base.port), highlight=False, soft_wrap=True)
    console.print(
        "\nweb app (sign in with the token above, then give a purpose; it opens on the "
        "example child's network):"
    )
    print(info.app_url(base.host, base.port))
    if not serve_api:
        return
    from cpgraph.api import serve_command  # noqa: PLC0415

    console.print(f"\nGraphiQL: http://{base.host}:{base.port}/graphql  (Ctrl-C to stop)")
    serve_command(base.host, base.port, settings=info.settings)


# The API and security modules are heavy (FastAPI, strawberry): import them only
# when their command runs, so every other command starts quickly.
@users_app.command("add")
@cli_errors
def users_add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -).")],
    role: Annotated[
        str,
        typer.Option(
            "--role", help="investigator, data_steward, partner_system, auditor or admin."
        ),
    ],
    expires_in_days: Annotated[
        int | None,
        typer.Option(
            "--expires-in-days",
            min=1,
            max=3650,
            help="Token lifetime in days (default: CPGRAPH_TOKEN_EXPIRY_DAYS, 90).",
        ),
    ] = None,
) -> None:
    """Add an API user and print their bearer token once (only its hash is stored)."""
    from cpgraph.security.commands import users_add_command  # noqa: PLC0415

    users_add_command(name, role, expires_in_days)


@users_app.command("list")
@cli_errors
def users_list() -> None:
    """List users: name, role, created, expires, revoked (never a token or its hash)."""
    from cpgraph.security.commands import users_list_command  # noqa: PLC0415

    users_list_command()


@users_app.command("revoke")
@cli_errors
def users_revoke(
    name: Annotated[str, typer.Argument(help="The user whose token stops working.")],
) -> None:
    """Revoke a user's token for good (the user stays listed, as revoked)."""
    from cpgraph.security.commands import users_revoke_command  # noqa: PLC0415

    users_revoke_command(name)


@users_app.command("rotate")
@cli_errors
def users_rotate(
    name: Annotated[str, typer.Argument(help="The user to give a new token.")],
    expires_in_days: Annotated[
        int | None,
        typer.Option(
            "--expires-in-days",
            min=1,
            max=3650,
            help="New token's lifetime in days (default: CPGRAPH_TOKEN_EXPIRY_DAYS, 90).",
        ),
    ] = None,
) -> None:
    """Print a new token once; the old one stops working at once."""
    from cpgraph.security.commands import users_rotate_command  # noqa: PLC0415

    users_rotate_command(name, expires_in_days)


@audit_app.command("verify")
@cli_errors
def audit_verify() -> None:
    """Verify the audit hash chain end to end; exit 1 at the first bad entry."""
    from cpgraph.security.commands import audit_verify_command  # noqa: PLC0415

    audit_verify_command()


@audit_app.command("reanchor")
@cli_errors
def audit_reanchor(
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: accept the chain as it stands now.")
    ] = False,
) -> None:
    """Re-create a missing anchor file for a keyed chain that still verifies."""
    from cpgraph.security.commands import audit_reanchor_command  # noqa: PLC0415

    audit_reanchor_command(yes)


@app.command("review")
@cli_errors
def review(
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help="File holding your API token (data_steward role); default: "
            "$CPGRAPH_TOKEN, else a hidden prompt.",
        ),
    ] = None,
    purpose: Annotated[
        str, typer.Option("--purpose", help="'<case reference>; <reason>' for the audit log.")
    ] = "DQ-REVIEW; match review queue",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    include_deferred: Annotated[
        bool, typer.Option("--include-deferred", help="Also walk deferred candidates.")
    ] = False,
) -> None:
    """Walk the match review queue in the terminal: a=link, r=no link, s=skip, q=quit."""
    from cpgraph.steward.tui import review_command  # noqa: PLC0415

    review_command(token_file, purpose, limit, include_deferred)


@app.command("serve")
@cli_errors
def serve(
    host: Annotated[str | None, typer.Option("--host", help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port.")] = None,
) -> None:
    """Serve the GraphQL API (/graphql, /healthz, /readyz, /metrics)."""
    from cpgraph.api import serve_command  # noqa: PLC0415

    serve_command(host, port)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:  # pragma: no cover - e.g. `cpgraph ... | head`
        sys.exit(0)


if __name__ == "__main__":  # `python -m cpgraph.cli`
    main()
