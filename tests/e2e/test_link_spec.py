"""`cpgraph link --spec FILE`: a steward's own spec, checked before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpgraph.config import Backend, Settings
from cpgraph.generate import SYSTEMS, generate
from cpgraph.linkage.service import last_run
from cpgraph.linkage.spec import DEFAULT_SPEC_PATH
from cpgraph.store import create_store
from tests.e2e.test_cli_db import cpgraph

pytestmark = pytest.mark.e2e


async def test_link_runs_with_a_stewards_spec_and_refuses_a_misspelt_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"CPGRAPH_DATA_DIR": str(data)}
    text = DEFAULT_SPEC_PATH.read_text(encoding="utf-8")
    assert 'name = "default"' in text and "household_moves = true" in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("household_moves = true", "househld_moves = true"), "utf-8")
    done = cpgraph("link", "--spec", str(bad), cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert "househld_moves" in done.stderr and "household_moves" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not data.exists(), "the store was started before the spec was checked"

    pop = tmp_path / "pop"
    generate(pop, households=20, seed=4)
    loaded = cpgraph("load", *(str(pop / s) for s in sorted(SYSTEMS)), cwd=tmp_path, env=env)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    mine = tmp_path / "steward.toml"
    mine.write_text(text.replace('name = "default"', 'name = "steward-trial"'), "utf-8")
    done = cpgraph("link", "--spec", str(mine), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    settings = Settings(backend=Backend.FALKORDB, data_dir=data, falkordb_url=None)
    async with create_store(settings) as store:
        run = await last_run(store)
    assert run is not None and run["spec"]["name"] == "steward-trial"
