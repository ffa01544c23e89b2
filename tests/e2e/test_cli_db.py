"""`cpgraph db ...` as a user runs it: a real process, no configuration."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.ingest.extracts import write_extract

pytestmark = pytest.mark.e2e


def cpgraph(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CPGRAPH_", "NEO4J_"))}
    return subprocess.run(
        [sys.executable, "-m", "cpgraph.cli", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_init_then_status_with_no_configuration(tmp_path: Path) -> None:
    init = cpgraph("db", "init", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    created = re.search(r"created (\d+) indexes/constraints", init.stdout)
    assert created and int(created.group(1)) >= 15
    again = cpgraph("db", "init", cwd=tmp_path)
    assert "nothing to create" in again.stdout
    status = cpgraph("db", "status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "falkordb" in status.stdout
    assert str((tmp_path / "data").resolve()) in status.stdout.replace("\n", "")
    assert "status:   ok" in status.stdout
    # Default data dir is ./data and the server is gone after the command.
    assert (tmp_path / "data" / "appendonlydir").is_dir()
    assert not (tmp_path / "data" / "cpgraph.owner.json").exists()


def test_status_of_a_store_nothing_was_written_to_is_empty(tmp_path: Path) -> None:
    # A new user's first command may be `db status`: the graph does not exist yet
    # (FalkorDB creates it on the first write), which is an empty store, not an error.
    status = cpgraph("db", "status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "status:   ok" in status.stdout
    assert "(empty)" in status.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CPGRAPH_BACKEND": "oracle"}, "invalid configuration: backend"),
        ({"CPGRAPH_FALKORDB_URL": "http://x"}, "invalid configuration: falkordb_url"),
        ({"CPGRAPH_FALKORDB_URL": "redis://127.0.0.1:9"}, "is not reachable"),
        ({"CPGRAPH_BACKEND": "neo4j", "NEO4J_URI": "bolt://127.0.0.1:9"}, "is not reachable"),
    ],
)
def test_bad_config_or_unreachable_store_is_one_clean_line(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    done = cpgraph("db", "status", cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_debug_flag_shows_the_traceback(tmp_path: Path) -> None:
    done = cpgraph("--debug", "db", "status", cwd=tmp_path, env={"CPGRAPH_BACKEND": "oracle"})
    assert done.returncode != 0
    assert "Traceback" in done.stderr


def test_reset_needs_yes(tmp_path: Path) -> None:
    refused = cpgraph("db", "reset", cwd=tmp_path)
    assert refused.returncode == 2
    assert not (tmp_path / "data").exists(), "nothing may be touched without --yes"
    done = cpgraph("db", "reset", "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_loads_lists_each_load_with_its_counts(tmp_path: Path) -> None:
    folder = write_extract(
        tmp_path / "x",
        "police",
        "wmp-niche",
        {
            "nominals.csv": "nominal_id,forename,surname,date_of_birth\r\n"
            "N1,Ann,Lee,1990-01-02\r\nN2,Bob,Lee,not a date\r\n"
        },
    )
    loaded = cpgraph("load", str(folder), cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    listed = cpgraph("loads", cwd=tmp_path, env={"COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "wmp-niche@" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[2:7] == ["completed", "1", "2", "1", "1"]
