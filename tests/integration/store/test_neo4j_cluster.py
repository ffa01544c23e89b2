"""cpgraph on the three-primary Neo4j cluster of `deploy/neo4j-cluster.compose.yml`.

Runs only where a Docker engine with the compose plugin answers and the person
running the tests has accepted Neo4j Enterprise's licence (clustering is an
Enterprise feature) by setting `NEO4J_ACCEPT_LICENSE_AGREEMENT=yes` (or `eval`);
skipped with that reason otherwise (the build machines have no Docker engine). The
file itself is checked everywhere by `tests/unit/test_compose_files.py`.

It starts the three primaries and the API (which runs `cpgraph db init` against the
cluster, then serves), and checks through the API container's own network: the API
is healthy on the cluster, read transactions reach members other than the leader and
write transactions the leader, and cpgraph keeps writing after the leader is stopped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
COMPOSE_FILE = "neo4j-cluster.compose.yml"
PASSWORD = "cpgraph-cluster-test"
PRIMARIES = ("core1", "core2", "core3")

# Run inside the API container: which member answered each kind of transaction.
ROUTING_PROBE = """
import json, os
from neo4j import GraphDatabase
auth = ("neo4j", os.environ["NEO4J_PASSWORD"])
with GraphDatabase.driver(os.environ["NEO4J_URI"], auth=auth) as driver:
    def who(mode):
        summary = driver.execute_query("RETURN 1", database_="neo4j", routing_=mode).summary
        return summary.server.address.host
    print(json.dumps({"writer": who("w"), "readers": sorted({who("r") for _ in range(30)})}))
"""


def _why_not() -> str | None:
    """Why the cluster cannot be started here (None: it can)."""
    if not shutil.which("docker"):
        return "the Neo4j cluster test needs Docker (no docker command here)"
    for probe in (["docker", "info"], ["docker", "compose", "version"]):
        try:
            done = subprocess.run(probe, capture_output=True, timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired):
            done = None
        if done is None or done.returncode != 0:
            command = " ".join(probe)
            return f"the Neo4j cluster test needs a Docker engine with compose ({command} fails)"
    if os.environ.get("NEO4J_ACCEPT_LICENSE_AGREEMENT", "").lower() not in {"yes", "eval"}:
        return (
            "the Neo4j cluster needs Enterprise Edition: set NEO4J_ACCEPT_LICENSE_AGREEMENT="
            "yes (or eval) if you accept its licence"
        )
    return None


def _compose(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "compose", "-f", COMPOSE_FILE, *args],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    saved = os.environ.get("NEO4J_PASSWORD")
    os.environ["NEO4J_PASSWORD"] = PASSWORD
    try:
        # --wait: until every member's healthcheck passes (the `neo4j` database online
        # on it) and the API answers /healthz
        up = _compose("up", "-d", "--build", "--wait", "core1", "core2", "core3", "api")
        assert up.returncode == 0, up.stderr[-3000:]
        yield
    finally:
        _compose("down", "--volumes", "--remove-orphans")
        if saved is None:
            os.environ.pop("NEO4J_PASSWORD", None)
        else:
            os.environ["NEO4J_PASSWORD"] = saved


def _in_api(*command: str, seed: str | None = None) -> subprocess.CompletedProcess[str]:
    # `seed`: another member as the routing seed (a one-off command started while the
    # seed named in the compose file is down could not fetch a routing table)
    env = ["-e", f"NEO4J_URI=neo4j://{seed}:7687"] if seed else []
    return _compose("exec", "-T", *env, "api", *command)


READY = "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8000/readyz').status)"


def test_cpgraph_runs_on_the_cluster(cluster: None) -> None:
    status = _in_api("cpgraph", "db", "status")
    assert status.returncode == 0, status.stderr
    assert re.search(r"status:\s+ok", status.stdout)
    assert "neo4j://core1:7687" in status.stdout


def test_reads_go_to_followers_and_writes_to_the_leader(cluster: None) -> None:
    probe = _in_api("python", "-c", ROUTING_PROBE)
    assert probe.returncode == 0, probe.stderr
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert seen["writer"] in PRIMARIES
    assert seen["readers"] and set(seen["readers"]) <= set(PRIMARIES)
    assert seen["writer"] not in seen["readers"], "reads should spare the leader"


def test_writes_continue_after_the_leader_is_lost(cluster: None) -> None:
    probe = _in_api("python", "-c", ROUTING_PROBE)
    leader = json.loads(probe.stdout.strip().splitlines()[-1])["writer"]
    survivor = next(name for name in PRIMARIES if name != leader)
    assert _compose("stop", leader).returncode == 0
    try:
        # the two remaining primaries elect a new leader; the driver follows it
        # (a write during the election is retried by the driver, then by us)
        for attempt in range(12):
            added = _in_api(
                "cpgraph", "users", "add", f"failover-{attempt}", "--role", "auditor",
                seed=survivor,
            )  # fmt: skip
            if added.returncode == 0:
                break
            time.sleep(5)
        assert added.returncode == 0, added.stderr
        # the API started before the loss follows the routing table, not its seed
        ready = _in_api("python", "-c", READY)
        assert ready.returncode == 0 and ready.stdout.strip() == "200", ready.stderr
    finally:
        assert _compose("start", leader).returncode == 0
