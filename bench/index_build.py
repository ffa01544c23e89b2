"""How long the embedded FalkorDB takes to build cpgraph's indexes over a loaded graph.

Usage:
    .venv/bin/python bench/index_build.py DATA_DIR [--variants all fulltext range]

DATA_DIR is a data directory a ``cpgraph load`` filled (e.g. a bulk load of
``bench/bulk_load.py``'s 1M extracts); it is copied first (beside it, 0700, removed after
each variant), so nothing done here reaches it. For each variant the store is started on
the copy, its append-only file switched off for the session, every index and constraint
dropped,
then the variant's DDL files (the registry's ``ddl_*`` queries, as ``bootstrap`` runs
them) issued, and the wall seconds until every index reports ``OPERATIONAL`` printed;
then the uniqueness constraints (``constraints.toml``) and their seconds. The indexes
are built by the server's single indexer thread after the bulk load's last call: this
is the part of a bulk load no second core can help with.

Variants: ``all`` (every DDL file in order), ``fulltext`` (the full-text index of
names only), ``range`` (every other index).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
import time
import tomllib
from pathlib import Path

import redis

from cpgraph.config import Settings
from cpgraph.store.embedded import EmbeddedFalkorDB
from cpgraph.store.registry import QueryRegistry

REPO = Path(__file__).resolve().parents[1]


def _props(value: bytes | str | list[bytes]) -> list[str]:
    """A property list as ``db.indexes()`` / ``db.constraints()`` give it ("[a, b]" or a list)."""
    if isinstance(value, list):
        return [v.decode() if isinstance(v, bytes) else str(v) for v in value]
    text = value.decode() if isinstance(value, bytes) else value
    return [p.strip() for p in text.strip("[]").split(",") if p.strip()]


def _wait(r: redis.Redis, graph: str, what: str = "indexes") -> None:
    """Wait until every index (or constraint: ``what="constraints"``) is OPERATIONAL."""
    while True:
        rows = r.execute_command(
            "GRAPH.RO_QUERY", graph, f"CALL db.{what}() YIELD status RETURN status"
        )[1]
        if all(row[0] == b"OPERATIONAL" for row in rows):
            return
        time.sleep(0.05)


def run(data_dir: Path, variant: str) -> tuple[float, float, float]:
    """(start s, index s, constraint s) of one variant."""
    graph = Settings().graph_name
    registry = QueryRegistry("falkordb")
    ddl = [n for n in registry.names() if n.startswith("ddl_")]
    if variant == "fulltext":
        ddl = [n for n in ddl if "fulltext" in n]
    elif variant == "range":
        ddl = [n for n in ddl if "fulltext" not in n]
    work = Path(tempfile.mkdtemp(prefix=".index-build-", dir=data_dir.parent))  # 0700
    try:
        shutil.copytree(data_dir / "appendonlydir", work / "appendonlydir")
        return _measure(work, graph, registry, ddl, variant)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(
    data_dir: Path, graph: str, registry: QueryRegistry, ddl: list[str], variant: str
) -> tuple[float, float, float]:
    db = EmbeddedFalkorDB(data_dir, start_timeout_s=1800)
    began = time.perf_counter()
    db.start()
    started = time.perf_counter() - began
    try:
        r = redis.Redis(unix_socket_path=db.socket_path, socket_timeout=1800)
        r.config_set("appendonly", "no")  # this session changes nothing on disk
        _wait(r, graph)
        constraints = r.execute_command(
            "GRAPH.RO_QUERY",
            graph,
            "CALL db.constraints() YIELD type, label, properties RETURN type, label, properties",
        )[1]
        for kind, label, props in constraints:
            names = _props(props)
            r.execute_command(
                "GRAPH.CONSTRAINT", "DROP", graph, kind, "NODE", label, "PROPERTIES",
                len(names), *names,
            )  # fmt: skip
        indexes = r.execute_command(
            "GRAPH.RO_QUERY", graph, "CALL db.indexes() YIELD label, properties"
        )[1]
        for label, props in indexes:
            for prop in _props(props):
                # a full-text field refuses DROP INDEX: it goes with the full-text index
                with contextlib.suppress(redis.ResponseError):
                    r.execute_command(
                        "GRAPH.QUERY", graph, f"DROP INDEX ON :{label.decode()}({prop})"
                    )
        with contextlib.suppress(redis.ResponseError):
            r.execute_command("GRAPH.QUERY", graph, "CALL db.idx.fulltext.drop('SourceRecord')")
        left = r.execute_command("GRAPH.RO_QUERY", graph, "CALL db.indexes() YIELD label")[1]
        if left:
            raise SystemExit(f"{len(left)} index(es) could not be dropped")
        began = time.perf_counter()
        for name in ddl:
            r.execute_command("GRAPH.QUERY", graph, registry.get(name).text)
        _wait(r, graph)
        built = time.perf_counter() - began
        if variant != "all":  # a constraint needs its exact-match (range) index
            return started, built, float("nan")
        spec = tomllib.loads((REPO / "cypher/falkordb/constraints.toml").read_text())
        began = time.perf_counter()
        for item in spec["unique"]:
            props = list(item["properties"])
            r.execute_command(
                "GRAPH.CONSTRAINT", "CREATE", graph, "UNIQUE", "NODE", item["label"],
                "PROPERTIES", len(props), *props,
            )  # fmt: skip
        _wait(r, graph, "constraints")
        enforced = time.perf_counter() - began
    finally:
        db.stop()
    return started, built, enforced


def main() -> None:
    """Time each variant and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--variants", nargs="+", default=["all", "fulltext", "range"])
    args = parser.parse_args()
    print("| variant | store start (replays the file) | indexes built | constraints |")
    print("|---|---|---|---|")
    for variant in args.variants:
        started, built, enforced = run(args.data_dir.resolve(), variant)
        print(f"| {variant} | {started:.1f} s | {built:.1f} s | {enforced:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
