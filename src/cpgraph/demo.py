"""`cpgraph demo`: a synthetic population, loaded, linked and ready to query.

The demo never touches the configured data directory: it keeps its extracts and
its embedded database under its own folder (default `./demo-data`), and rebuilds
them from scratch on every run.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpgraph.config import Backend, Environment, Settings
from cpgraph.flags.service import FlagsReport, compute_flags, flags_cache_path
from cpgraph.generate import generate
from cpgraph.ingest import load_extracts
from cpgraph.linkage.service import LinkReport
from cpgraph.security.anchor import retire_anchor
from cpgraph.security.users import add_user
from cpgraph.steward.linking import linkage_service
from cpgraph.steward.queue import refresh_flagged
from cpgraph.store import GraphStore, create_store

Progress = Callable[[str, int, int], None]

DEMO_USER = "demo-investigator"
DEMO_PURPOSE = "DEMO-0001; cpgraph demo walkthrough"


@dataclass
class DemoInfo:
    """What the demo built and how to query it."""

    settings: Settings
    extracts: Path
    mentions_loaded: int
    quarantined: int
    link: LinkReport
    flags: FlagsReport
    token: str
    example_person_id: str | None
    example_name: str | None
    scenarios: dict[str, int] = field(default_factory=dict)

    def example_query(self) -> str:
        """A GraphQL query for the first new-partner child."""
        person = self.example_person_id or "P0000000001"
        selection = (
            "displayName agencies { agency systems } "
            "relationships { edges { node { type livesWith person { id displayName } } } } "
            "concerns(includeHousehold: true) { edges { node { relationship "
            "subject { displayName } event { type concernCategory date agency } } } } "
            "flags { code reason }"
        )
        return f'{{ person(id: "{person}") {{ {selection} }} }}'

    def app_url(self, host: str, port: int) -> str:
        """The web app's address, opening on the example child's network after sign-in."""
        base = f"http://{host}:{port}/"
        return f"{base}#/network/{self.example_person_id}" if self.example_person_id else base

    def curl(self, host: str, port: int) -> str:
        """A ready-to-paste curl command for the example query."""
        body = json.dumps({"query": self.example_query()})
        return (
            f"curl -s http://{host}:{port}/graphql "
            f"-H 'Authorization: Bearer {self.token}' "
            f"-H {shlex.quote('X-Purpose: ' + DEMO_PURPOSE)} "
            f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
        )


def demo_settings(base: Settings, folder: Path) -> Settings:
    """The demo's settings: the embedded store under `folder/db`, GraphiQL on."""
    return base.model_copy(
        update={
            "backend": Backend.FALKORDB,
            "falkordb_url": None,
            "data_dir": folder / "db",
            "env": Environment.DEV,
        }
    )


async def build_demo(
    base: Settings,
    folder: Path,
    *,
    households: int = 300,
    seed: int = 42,
    progress: Progress | None = None,
) -> DemoInfo:
    """Generate, load and link a synthetic population; create a demo user.

    Args:
        base: the configured settings (host, port, limits are kept).
        folder: where the demo keeps its extracts and database.
        households: family units to generate.
        seed: generator seed.
        progress: callback `(stage, done, total)`.

    Returns:
        What was built, with a bearer token for the demo investigator.
    """
    settings = demo_settings(base, folder)
    extracts = folder / "extracts"
    summary = generate(
        extracts,
        households,
        seed,
        progress=(lambda d, t: progress("generating", d, t)) if progress else None,
    )
    folders = sorted(p for p in extracts.iterdir() if (p / "manifest.json").is_file())
    async with create_store(settings) as store:
        await store.reset()
        retire_anchor(settings, "demo")  # the demo's audit log was just deleted with it
        await store.bootstrap()

        def load_progress(system: str, done: int, total: int) -> None:
            if progress:
                progress(f"loading {system}", done, total)

        reports = await load_extracts(store, folders, progress=load_progress)
        link = await linkage_service(store, settings).link(full=True, progress=progress)
        # (with its cache: the next `cpgraph link` may recompute only the flags it reaches)
        flags = await compute_flags(
            store, cache=flags_cache_path(settings.data_dir, store.backend, settings.graph_name)
        )
        await refresh_flagged(store)  # the review queue's "flagged child" filter
        token = await add_user(store, DEMO_USER, "investigator")
        person_id, name = await _example_person(store, extracts)
    return DemoInfo(
        settings=settings,
        extracts=extracts,
        mentions_loaded=sum(r.mentions for r in reports),
        quarantined=sum(r.rows_quarantined for r in reports),
        link=link,
        flags=flags,
        token=token,
        example_person_id=person_id,
        example_name=name,
        scenarios=dict(summary.scenarios),
    )


async def _example_person(store: GraphStore, extracts: Path) -> tuple[str | None, str | None]:
    try:
        scenarios: list[dict[str, Any]] = json.loads(
            (extracts / "scenarios.json").read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None, None
    for item in scenarios:
        if item.get("scenario") != "new_partner":
            continue
        for key in item.get("child_record_keys", []):
            rows = await store.query("demo_scenario_person", key=key)
            if rows:
                return rows[0]["person_id"], rows[0]["display_name"]
    return None, None
