"""Duplicates inside one agency's own index (issue #19), end to end: extracts with
within-system duplicates → `cpgraph load` → `cpgraph link` → the stewards' queue filter
and `cpgraph export duplicates` for the source agency."""

from __future__ import annotations

import csv
import itertools
import re
import stat
from pathlib import Path

import pandas as pd
import pytest

from cpgraph.config import Backend, Settings
from cpgraph.generate import SYSTEMS
from cpgraph.linkage import load_spec
from cpgraph.steward.queue import QueueFilter, queue_count, queue_page
from cpgraph.store import create_store
from tests.e2e.test_cli_db import cpgraph
from tests.factories import make_population

pytestmark = pytest.mark.e2e

MASTER = ("nominal", "patient", "pupil", "prisoner", "person")


def _true_within_pairs(pop_root: Path, system: str) -> set[tuple[str, str]]:
    """Pairs of records of one master index of ``system`` that are one true person."""
    truth = pd.read_csv(pop_root / "truth.csv", dtype=str)
    parts = truth["record_key"].str.split(":", n=2, expand=True)
    truth = truth[(parts[0] == system) & parts[1].isin(MASTER)]
    truth = truth.assign(kind=parts[1])
    out = set()
    for _, g in truth.groupby(["true_person_id", "kind"]):
        out |= {tuple(sorted(p)) for p in itertools.combinations(g["record_key"], 2)}
    return out


async def test_within_system_duplicates_are_linked_queued_and_exported(tmp_path: Path) -> None:
    pop = make_population(tmp_path / "pop", households=80, seed=5, profile="migrated_systems")
    data = tmp_path / "data"
    env = {"CPGRAPH_DATA_DIR": str(data)}
    loaded = cpgraph("load", *(str(pop.root / s) for s in sorted(SYSTEMS)), cwd=tmp_path, env=env)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    linked = cpgraph("link", cwd=tmp_path, env=env)
    assert linked.returncode == 0, linked.stderr[-2000:]

    out = tmp_path / "uhb-duplicates.csv"
    done = cpgraph(
        "export", "duplicates", "--system", "uhb-fhir", "--out", str(out), cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows, "a migrated hospital index holds duplicates"
    assert set(rows[0]) == {"system", "record_a", "record_b", "status", "probability", "reasons"}
    for r in rows:
        assert r["system"] == "uhb-fhir"
        assert r["record_a"].split(":")[:2] == r["record_b"].split(":")[:2]
        assert r["record_a"].startswith("uhb-fhir:patient:")
        assert r["status"] in {"linked", "possible", "deferred"}
        assert 0.0 <= float(r["probability"]) <= 1.0 and r["reasons"]
    found = {tuple(sorted((r["record_a"], r["record_b"]))) for r in rows}
    true_pairs = _true_within_pairs(pop.root, "uhb-fhir")
    assert true_pairs, "the profile plants within-system duplicates"
    # until spec v8 not one of these was linked; now nearly all are linked or queued
    recall = len(found & true_pairs) / len(true_pairs)
    assert recall >= 0.8, (recall, len(true_pairs))
    linked_rows = [r for r in rows if r["status"] == "linked"]
    wrong = [
        r for r in linked_rows if tuple(sorted((r["record_a"], r["record_b"]))) not in true_pairs
    ]
    assert len(wrong) <= max(1, len(linked_rows) // 50), wrong
    # spec v14: a pair of one index scored below `review` (0.6) but at or above
    # `within_index_review` is queued too, with its own reason; nothing else is below
    spec = load_spec()
    for r in rows:
        if r["status"] == "linked":
            continue
        p = float(r["probability"])
        assert ("kept_apart:within_index_review" in r["reasons"]) == (p < spec.review), r
        assert spec.within_index_review is not None and p >= spec.within_index_review
    # nothing private in the report: record keys, numbers and reason codes only
    for r in rows:
        for reason in r["reasons"].split(";"):
            assert re.fullmatch(r"(linked|kept_apart|evidence):[a-z_:]+", reason), reason

    settings = Settings(backend=Backend.FALKORDB, data_dir=data, falkordb_url=None)
    async with create_store(settings) as store:
        total = await queue_count(store, QueueFilter())
        within = await queue_count(store, QueueFilter(within_system=True))
        across = await queue_count(store, QueueFilter(within_system=False))
        assert within + across == total
        page = await queue_page(store, first=200, filters=QueueFilter(within_system=True))
        assert len(page.items) == min(within, 200)
        for it in page.items:
            assert it.within_system is not None
            assert it.key_a.split(":")[:2] == it.key_b.split(":")[:2]
            assert it.key_a.split(":")[1] in MASTER
        other = await queue_page(store, first=200, filters=QueueFilter(within_system=False))
        assert all(it.within_system is None for it in other.items)
        # the export's pairs awaiting a steward are exactly the queue's for the system
        queued = await queue_page(
            store,
            first=500,
            filters=QueueFilter(
                within_system=True, system="uhb-fhir", statuses=("open", "deferred")
            ),
        )
        assert {tuple(sorted((i.key_a, i.key_b))) for i in queued.items} == {
            tuple(sorted((r["record_a"], r["record_b"]))) for r in rows if r["status"] != "linked"
        }
