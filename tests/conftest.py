"""Shared fixtures: settings on temporary data dirs and real graph stores.

Every store a fixture starts is closed in its teardown, which also stops the
embedded FalkorDB process, so no database outlives the test session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from cpgraph.config import Backend, Settings
from cpgraph.store import GraphStore, create_store
from tests.queries import with_test_queries

# Hypothesis' per-example deadline is a timing assertion: on a loaded machine (CI beside
# other work) a 0.06 ms example once took 850 ms and failed. Speed is measured in bench/.
settings.register_profile("cpgraph", deadline=None)
settings.load_profile("cpgraph")


@pytest.fixture
def falkordb_settings(tmp_path: Path) -> Settings:
    """Settings for an embedded FalkorDB in a fresh temporary data dir."""
    return Settings(backend=Backend.FALKORDB, data_dir=tmp_path / "data", falkordb_url=None)


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        done = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.fixture(scope="session")
def neo4j_settings() -> Iterator[Settings]:
    """Settings for a Neo4j 5 server: NEO4J_TEST_URI, else a testcontainer, else skip."""
    uri = os.environ.get("NEO4J_TEST_URI")
    if uri:
        yield Settings(
            backend=Backend.NEO4J,
            neo4j_uri=uri,
            neo4j_user=os.environ.get("NEO4J_TEST_USER", "neo4j"),
            neo4j_password=os.environ.get("NEO4J_TEST_PASSWORD", "neo4j"),
            neo4j_database=os.environ.get("NEO4J_TEST_DATABASE", "neo4j"),
        )
        return
    if not _docker_answers():
        pytest.skip(
            "Neo4j contract tests need a Docker engine (none answers here) "
            "or NEO4J_TEST_URI pointing at a Neo4j 5 server"
        )
    from testcontainers.neo4j import Neo4jContainer  # noqa: PLC0415 — only with Docker

    password = "cpgraph-test-password"
    with Neo4jContainer("neo4j:5", password=password) as container:
        yield Settings(
            backend=Backend.NEO4J,
            neo4j_uri=container.get_connection_url(),
            neo4j_user="neo4j",
            neo4j_password=password,
            neo4j_database="neo4j",
        )


@pytest.fixture(params=[Backend.FALKORDB.value, Backend.NEO4J.value])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[GraphStore]:
    """A started, empty, bootstrapped store on every backend this machine can reach."""
    if request.param == Backend.FALKORDB.value:
        settings = Settings(backend=Backend.FALKORDB, data_dir=tmp_path / "data")
    else:
        settings = request.getfixturevalue("neo4j_settings")
    graph_store = create_store(settings, with_test_queries(settings.backend.value))
    await graph_store.start()
    try:
        await graph_store.reset()
        await graph_store.bootstrap()
        yield graph_store
    finally:
        await graph_store.close()


@pytest.fixture
async def falkordb_store(falkordb_settings: Settings) -> AsyncIterator[GraphStore]:
    """A started, bootstrapped embedded FalkorDB store."""
    graph_store = create_store(falkordb_settings, with_test_queries())
    await graph_store.start()
    try:
        await graph_store.bootstrap()
        yield graph_store
    finally:
        await graph_store.close()
