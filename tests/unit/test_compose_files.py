"""The compose files are valid and say what docs/operations.md says they do.

No Docker engine runs on the build machines, so the files are checked as data here:
the single-server stack (`docker-compose.yml`) and the three-primary Neo4j cluster
(`deploy/neo4j-cluster.compose.yml`): its members, their shared discovery list, the
Neo4j settings they set (each a real Neo4j 5 setting, in Docker's spelling), the
optional read replica, and cpgraph pointed at the cluster through a routing URI.
`tests/integration/store/test_neo4j_cluster.py` starts the cluster where Docker answers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from cpgraph.config import Backend, Settings

REPO = Path(__file__).resolve().parents[2]
SINGLE = REPO / "docker-compose.yml"
CLUSTER = REPO / "deploy" / "neo4j-cluster.compose.yml"
PRIMARIES = ("core1", "core2", "core3")
REPLICA = "replica1"

# Neo4j 5 settings the cluster file may set, checked against the Operations Manual
# ("Deploy a basic cluster", "Settings reference", Docker configuration). Discovery v2
# (`dbms.cluster.discovery.version`, `...v2.endpoints`) needs Neo4j >= 5.23.
NEO4J_SETTINGS = frozenset(
    {
        "server.default_listen_address",
        "server.default_advertised_address",
        "server.cluster.system_database_mode",
        "initial.server.mode_constraint",
        "dbms.cluster.discovery.resolver_type",
        "dbms.cluster.discovery.version",
        "dbms.cluster.discovery.v2.endpoints",
        "dbms.cluster.minimum_initial_system_primaries_count",
        "initial.dbms.default_primaries_count",
        "initial.dbms.default_secondaries_count",
        "initial.dbms.automatically_enable_free_servers",
        "server.memory.heap.initial_size",
        "server.memory.heap.max_size",
        "server.memory.pagecache.size",
    }
)
# Environment variables of the Neo4j image that are not settings.
NEO4J_IMAGE_VARS = frozenset({"NEO4J_AUTH", "NEO4J_ACCEPT_LICENSE_AGREEMENT"})
_INTERPOLATION_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), path
    return data


def _setting(env_name: str) -> str:
    """`NEO4J_dbms_cluster_minimum__initial...` → `dbms.cluster.minimum_initial...`."""
    body = env_name.removeprefix("NEO4J_")
    return ".".join(part.replace("\0", "_") for part in body.replace("__", "\0").split("_"))


@pytest.fixture(scope="module")
def cluster() -> dict[str, Any]:
    return _load(CLUSTER)


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment as a mapping (merged from the shared anchors)"
    return {k: str(v) for k, v in env.items()}


def test_setting_names_translate_like_the_neo4j_image() -> None:
    assert _setting("NEO4J_server_memory_pagecache_size") == "server.memory.pagecache.size"
    assert (
        _setting("NEO4J_dbms_cluster_minimum__initial__system__primaries__count")
        == "dbms.cluster.minimum_initial_system_primaries_count"
    )


def test_three_enterprise_primaries_share_one_discovery_list(cluster: dict[str, Any]) -> None:
    services = cluster["services"]
    endpoints = set()
    for name in PRIMARIES:
        core = services[name]
        env = _env(core)
        # clustering exists only in Enterprise Edition, whose licence must be accepted
        # by the operator (the variable is required, never defaulted to "yes")
        assert core["image"].startswith("neo4j:5") and core["image"].endswith("-enterprise")
        assert env["NEO4J_ACCEPT_LICENSE_AGREEMENT"].startswith(
            "${NEO4J_ACCEPT_LICENSE_AGREEMENT:?"
        )
        assert env["NEO4J_server_cluster_system__database__mode"] == "PRIMARY"
        assert env["NEO4J_initial_server_mode__constraint"] == "PRIMARY"
        assert env["NEO4J_server_default__advertised__address"] == core["hostname"] == name
        assert env["NEO4J_dbms_cluster_minimum__initial__system__primaries__count"] == "3"
        assert env["NEO4J_initial_dbms_default__primaries__count"] == "3"
        assert env["NEO4J_dbms_cluster_discovery_version"] == "V2_ONLY"
        assert env["NEO4J_dbms_cluster_discovery_resolver__type"] == "LIST"
        endpoints.add(env["NEO4J_dbms_cluster_discovery_v2_endpoints"])
        assert "profiles" not in core, "the primaries always start"
        assert "cypher-shell" in " ".join(core["healthcheck"]["test"])
        assert [v.split(":")[1] for v in core["volumes"]] == ["/data"]
    assert len(endpoints) == 1, f"members disagree on the discovery list: {endpoints}"
    listed = endpoints.pop().split(",")
    assert sorted(listed) == [f"{name}:6000" for name in PRIMARIES]
    volumes = [services[name]["volumes"][0].split(":")[0] for name in PRIMARIES]
    assert len(set(volumes)) == 3 and set(volumes) <= set(cluster["volumes"])


def test_every_neo4j_variable_is_a_real_setting(cluster: dict[str, Any]) -> None:
    seen = set()
    for name, service in cluster["services"].items():
        if not str(service.get("image", "")).startswith("neo4j:"):
            continue
        for var in _env(service):
            if var in NEO4J_IMAGE_VARS or name == "replica-topology":
                continue
            assert var.startswith("NEO4J_"), f"{name}: {var}"
            seen.add(_setting(var))
            assert _setting(var) in NEO4J_SETTINGS, f"{name}: {var} is no Neo4j 5 setting"
    assert {"dbms.cluster.discovery.v2.endpoints", "server.cluster.system_database_mode"} <= seen


def test_the_replica_is_an_optional_secondary(cluster: dict[str, Any]) -> None:
    services = cluster["services"]
    replica, topology = services[REPLICA], services["replica-topology"]
    env = _env(replica)
    assert replica["profiles"] == ["replica"] and topology["profiles"] == ["replica"]
    assert env["NEO4J_server_cluster_system__database__mode"] == "SECONDARY"
    assert env["NEO4J_initial_server_mode__constraint"] == "SECONDARY"
    core_endpoints = _env(services["core1"])["NEO4J_dbms_cluster_discovery_v2_endpoints"]
    assert env["NEO4J_dbms_cluster_discovery_v2_endpoints"] == core_endpoints
    statement = " ".join(topology["command"])
    assert "SET TOPOLOGY 3 PRIMARIES 1 SECONDARY" in statement
    assert topology["depends_on"][REPLICA]["condition"] == "service_healthy"
    # no always-on service may depend on one that only starts with a profile
    optional = {n for n, s in services.items() if s.get("profiles")}
    for name, service in services.items():
        if not service.get("profiles"):
            assert not optional & set(service.get("depends_on") or {}), name


def test_cpgraph_uses_a_routing_uri_to_the_cluster(cluster: dict[str, Any]) -> None:
    api = cluster["services"]["api"]
    env = _env(api)
    uri = urlsplit(env["NEO4J_URI"])
    # neo4j:// (or neo4j+s://) routes: writes to the leader, reads to the others
    assert uri.scheme in {"neo4j", "neo4j+s", "neo4j+ssc"}
    assert uri.hostname in PRIMARIES
    assert env["CPGRAPH_BACKEND"] == Backend.NEO4J.value
    for name in PRIMARIES:
        assert api["depends_on"][name]["condition"] == "service_healthy"
    assert api["build"]["context"] == ".." and (CLUSTER.parent / "../Dockerfile").exists()
    # the audit anchor (and a generated audit key) must outlive the container
    assert any(v.endswith(":/app/data") for v in api["volumes"])
    settings = Settings(
        backend=env["CPGRAPH_BACKEND"],
        neo4j_uri=env["NEO4J_URI"],
        neo4j_user=env["NEO4J_USER"],
        neo4j_password="x" * 12,
        neo4j_database=env["NEO4J_DATABASE"],
    )
    assert settings.backend is Backend.NEO4J and settings.neo4j_uri.startswith("neo4j://")


@pytest.mark.parametrize("path", [SINGLE, CLUSTER], ids=lambda p: p.name)
def test_secrets_are_required_not_defaulted(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    refs = {m.group(1): m.group(0) for m in _INTERPOLATION_RE.finditer(text)}
    assert "NEO4J_PASSWORD" in refs
    for line in text.splitlines():
        if "NEO4J_PASSWORD" in line and "${" in line and not line.lstrip().startswith("#"):
            assert "${NEO4J_PASSWORD:?" in line, f"{path.name}: {line.strip()}"
    # every `${` opens a well-formed reference (a stray one breaks `docker compose`)
    assert text.count("${") - text.count("$${") == len(_INTERPOLATION_RE.findall(text))


def test_single_server_stack_points_at_its_neo4j() -> None:
    services = _load(SINGLE)["services"]
    env = _env(services["api"])
    assert urlsplit(env["NEO4J_URI"]).hostname == "neo4j"
    assert services["api"]["depends_on"]["neo4j"]["condition"] == "service_healthy"
    assert services["neo4j"]["image"].startswith("neo4j:5")
