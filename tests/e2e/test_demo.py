"""The README's demo command: generate, load, link, a token and a query that works.

The demo is run as a user runs it (a real `cpgraph demo` process, without
serving); the printed curl command is then replayed against a real uvicorn
serving the demo database, so the README's promise is checked end to end.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CPGRAPH_", "NEO4J_"))}
    return {**env, **extra}


def test_demo_builds_a_queryable_graph(tmp_path: Path) -> None:
    port = _free_port()
    done = subprocess.run(
        [sys.executable, "-m", "cpgraph.cli", "demo", "--households", "40", "--no-serve",
         "--dir", str(tmp_path / "demo"), "--port", str(port)],
        cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "demo ready:" in out
    persons = int(re.search(r"([\d,]+) persons", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert persons > 0
    curl = next(line for line in out.splitlines() if line.startswith("curl "))
    argv = shlex.split(curl)
    headers = dict(argv[i + 1].split(": ", 1) for i, a in enumerate(argv) if a == "-H")
    body = json.loads(argv[argv.index("-d") + 1])
    assert headers["Authorization"].startswith("Bearer cpg_")

    # Serve the demo's database the way `cpgraph demo` would, and replay the query.
    server = subprocess.Popen(
        [sys.executable, "-m", "cpgraph.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=_clean_env(CPGRAPH_DATA_DIR=str(tmp_path / "demo" / "db"), CPGRAPH_ENV="dev"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        answer = httpx.post(
            f"http://127.0.0.1:{port}/graphql", headers=headers, json=body, timeout=30
        )
        assert answer.status_code == 200, answer.text
        payload = answer.json()
        assert "errors" not in payload, payload
        person = payload["data"]["person"]
        assert person["displayName"]
        assert {a["agency"] for a in person["agencies"]}
        assert person["relationships"]["edges"], "a new-partner child has a household"
        # The point of the scenario: the new partner's abuse history is flagged.
        assert "HOUSEHOLD_ADULT_DOMESTIC_ABUSE" in {f["code"] for f in person["flags"]}
        # Without a purpose the same query is refused.
        no_purpose = {k: v for k, v in headers.items() if k != "X-Purpose"}
        refused = httpx.post(
            f"http://127.0.0.1:{port}/graphql", headers=no_purpose, json=body, timeout=30
        )
        assert refused.status_code == 403
    finally:
        server.terminate()
        server.wait(timeout=30)
