"""Fixtures for the browser tests: Chromium, a populated served data dir, pages.

Chromium is Debian's `chromium` driven by Playwright (`executable_path`; Playwright's
own browser download does not work here). When `/usr/bin/chromium` is missing, the
session installs it with apt-get (CI runs as root on Debian: `.ci/run` → `./run test`);
only where that is impossible are the browser tests skipped, with the reason.

Screenshots go to a temporary folder, or to `docs/screens/` with
`CPGRAPH_UPDATE_SCREENS=1` (how the committed ones were made).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.world import World, build_world, serve

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
REPO = Path(__file__).resolve().parents[2]


def _find_chromium() -> str | None:
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return None


def _apt_install_chromium() -> str | None:
    """Install Debian's chromium quietly (idempotent); the reason it failed, or None."""
    if not shutil.which("apt-get"):
        return "no apt-get on this machine"
    if os.geteuid() != 0:
        return "not root, so apt-get cannot install chromium"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]
    quiet: dict[str, Any] = {"env": env, "capture_output": True, "text": True, "timeout": 900}
    done = subprocess.run(cmd, check=False, **quiet)
    if done.returncode != 0:  # an old or missing package list: update once, try again
        subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)
        done = subprocess.run(cmd, check=False, **quiet)
    if done.returncode != 0:
        return f"apt-get install chromium failed: {done.stderr.strip()[-300:]}"
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of a Chromium binary, installed with apt-get if missing (else skip)."""
    try:
        import playwright.sync_api  # noqa: F401, PLC0415
    except ImportError:
        pytest.skip("playwright is not installed (dev dependency group)")
    path = _find_chromium()
    if path is None:
        reason = _apt_install_chromium()
        path = _find_chromium()
        if path is None:
            pytest.skip(f"no Chromium for the browser tests: {reason or 'not found after install'}")
    return path


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """A small linked and flagged population with one user per role."""
    built = build_world(tmp_path_factory.mktemp("web-world"))
    assert built.possible_child, "the population has no child with a POSSIBLE flag"
    return built


@pytest.fixture(scope="session")
def base_url(world: World) -> Iterator[str]:
    """The app served by a real uvicorn process (dev: GraphiQL on too)."""
    with serve(world.data_dir, env="dev") as base:
        yield base


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    """Headless Chromium, closed at the end of each test module.

    Playwright's sync API runs an event loop on this thread while it is open: closed
    per module, it is gone before the asyncio tests of other folders run.
    """
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield launched
        finally:
            launched.close()


class Watched:
    """A page with what it logged, the requests it sent and its CSP violations."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[Any] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: self.requests.append(r))

    def _console(self, msg: Any) -> None:
        if msg.type == "error":
            self.errors.append(msg.text)

    def graphql_bodies(self) -> list[str]:
        """Post bodies of the GraphQL requests sent so far."""
        return [r.post_data or "" for r in self.requests if r.url.endswith("/graphql")]


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    """A fresh browser context and page (nothing carried over between tests)."""
    context = browser.new_context(viewport={"width": 1180, "height": 760})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield Watched(page)
    finally:
        context.close()


@pytest.fixture(scope="session")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: docs/screens with CPGRAPH_UPDATE_SCREENS=1, else a temp dir."""
    if os.environ.get("CPGRAPH_UPDATE_SCREENS") == "1":
        out = REPO / "docs" / "screens"
        out.mkdir(parents=True, exist_ok=True)
        return out
    return tmp_path_factory.mktemp("screens")
