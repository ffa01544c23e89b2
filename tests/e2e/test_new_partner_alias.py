"""A new partner's history under another name in another force, extracts to flag.

The generator's `alias_heavy` profile (held out from tuning) records the new
partner's earlier domestic-abuse history in another force under another surname,
with a CRO number instead of a PNC id, the alias listed on one side or both. Run as
a user would: `cpgraph generate`, `cpgraph load`, `cpgraph link`, `cpgraph users
add`, then the API: the child's HOUSEHOLD_ADULT_DOMESTIC_ABUSE flag must cite the
history's records (confirmed, or possible awaiting a steward), and control children
must have no flag at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cpgraph.generate import SYSTEMS
from tests.e2e.served import served_api
from tests.e2e.test_cli_db import cpgraph

pytestmark = pytest.mark.e2e

HOUSEHOLDS = 90  # three scenarios of each kind
PURPOSE = "CP-2026-0002; new partner check"

FLAGS = """
query($k: String!) {
  record(key: $k) {
    person {
      id
      flags { code confidence reason evidence { recordKeys path { kind } } }
    }
  }
}
"""


def _run(*args: str, cwd: Path, data: Path) -> str:
    done = cpgraph(*args, cwd=cwd, env={"CPGRAPH_DATA_DIR": str(data)})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


async def test_new_partner_history_under_alias_reaches_the_childs_flag(tmp_path: Path) -> None:
    pop, data = tmp_path / "pop", tmp_path / "data"
    _run(
        "generate", "--out", str(pop), "--households", str(HOUSEHOLDS), "--seed", "3",
        "--profile", "alias_heavy", cwd=tmp_path, data=data,
    )  # fmt: skip
    _run("load", *(str(pop / s) for s in sorted(SYSTEMS)), cwd=tmp_path, data=data)
    _run("link", cwd=tmp_path, data=data)
    token = _run("users", "add", "ina", "--role", "investigator", cwd=tmp_path, data=data)
    token = token.strip().splitlines()[-1]
    scenarios = json.loads((pop / "scenarios.json").read_text(encoding="utf-8"))
    partners = [s for s in scenarios if s["scenario"] == "new_partner"]
    aliased = [s for s in partners if "alias variant" in s["notes"]]
    assert aliased, "the profile planted no alias history: the test would prove nothing"
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE}
    async with served_api(data) as (http, _proc):

        async def flags_of(key: str) -> list[dict]:
            body = {"query": FLAGS, "variables": {"k": key}}
            resp = await http.post("/graphql", json=body, headers=headers)
            assert resp.status_code == 200, resp.text
            return resp.json()["data"]["record"]["person"]["flags"]

        for sc in partners:
            history = [
                m["record_key"]
                for m in sc["must_connect"]
                if "record_key" in m and "nominal in another force" in m["why"]
            ]
            assert history, sc["id"]
            # the child is whichever persons its records resolve to: a record linkage
            # left apart (another address) must not hide the flag on the others
            child_flags = [f for k in sc["child_record_keys"] for f in await flags_of(k)]
            flags = [
                f
                for f in child_flags
                if f["code"] == "HOUSEHOLD_ADULT_DOMESTIC_ABUSE"
                and set(history) <= set(f["evidence"]["recordKeys"])
            ]
            assert flags, f"{sc['id']}: the partner's history is not in the child's flags"
            for f in flags:
                assert f["confidence"] in ("CONFIRMED", "POSSIBLE")
                if f["confidence"] == "POSSIBLE":
                    assert "steward" in f["reason"]
                    assert "POSSIBLE_MATCH" in {h["kind"] for h in f["evidence"]["path"]}
        for sc in scenarios:
            if sc["scenario"] == "control":
                for k in sc["child_record_keys"]:
                    assert await flags_of(k) == [], sc["id"]
