"""Where the embedded store's memory goes, by FalkorDB's own account.

Usage:
    .venv/bin/python bench/store_memory.py DATA_DIR [DATA_DIR ...]

For each data directory (a copy: the store is started on it, then stopped), prints Redis'
``used_memory`` and FalkorDB's ``GRAPH.MEMORY USAGE`` of the cpgraph graph (attributes by
node label and edge type, matrices, indexes), with the node and edge counts, as JSON.
Used for "The store's weight" in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import redis

from cpgraph.config import Settings
from cpgraph.store.embedded import EmbeddedFalkorDB


def _plain(value: Any) -> Any:
    """Redis replies (bytes, nested lists and maps) as JSON values."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def measure(data_dir: Path, graph: str) -> dict[str, Any]:
    """Start the store on ``data_dir``, read its memory account, stop it."""
    db = EmbeddedFalkorDB(data_dir, start_timeout_s=600)
    db.start()
    try:
        r = redis.Redis(unix_socket_path=db.socket_path, socket_timeout=600)
        used = int(r.info("memory")["used_memory"])
        counts = {}
        for kind, q in (
            ("nodes", "MATCH (n) RETURN labels(n)[0], count(*)"),
            ("edges", "MATCH ()-[e]->() RETURN type(e), count(*)"),
        ):
            counts[kind] = dict(_plain(r.execute_command("GRAPH.RO_QUERY", graph, q)[1]))
        usage = _plain(r.execute_command("GRAPH.MEMORY", "USAGE", graph))
        return {"data_dir": str(data_dir), "used_memory_mb": round(used / 2**20, 1),
                "graph_memory_mb": usage, **counts}  # fmt: skip
    finally:
        db.stop()


def main() -> None:
    """Print each data directory's memory account."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dirs", type=Path, nargs="+")
    args = parser.parse_args()
    graph = Settings().graph_name
    for d in args.data_dirs:
        print(json.dumps(measure(d.resolve(), graph), indent=1))


if __name__ == "__main__":
    main()
