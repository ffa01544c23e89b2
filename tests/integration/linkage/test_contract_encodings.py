"""The same people written the way another agency's export writes them link the same.

Every CSV extract of a generated population is re-encoded in ways the contract
allows (tests/reencode.py: byte-order mark, LF line ends, another column order, UK
dates, `Y`/`N` booleans, names in other cases with stray spaces, postcodes without
their space, grouped NHS numbers, short PNC ids, lower-case UPNs, padded ids, spaced
alias lists, unused optional columns left out, a column of its own). Loaded into a
second store and linked, it must give the same load counts, the same persons and
the same review queue as the original: linkage must not depend on how a source
happens to format what it holds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from cpgraph.config import Backend, Settings
from cpgraph.ingest.engine import load_extracts
from cpgraph.linkage.engine import LinkageEngine
from cpgraph.linkage.service import LinkageService
from cpgraph.store import create_store
from tests.factories import make_population
from tests.reencode import reencode_extract

pytestmark = pytest.mark.integration

REL_COLUMNS = ["from_key", "to_key", "relationship", "lives_with"]


async def _load_and_read(folders: list[Path], data_dir: Path):
    settings = Settings(backend=Backend.FALKORDB, data_dir=data_dir, falkordb_url=None)
    store = create_store(settings)
    await store.start()
    try:
        await store.bootstrap()
        reports = await load_extracts(store, folders)
        data = await LinkageService(store, settings).read()
    finally:
        await store.close()
    counts = {
        (r.system, name): (f.read, f.loaded, f.quarantined)
        for r in reports
        for name, f in r.files.items()
    }
    return counts, data.mentions, data.relationships[REL_COLUMNS]


def _partition(assignments: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(keys) for _, keys in assignments.groupby("person_id")["key"]}


def _review(review: pd.DataFrame) -> set[tuple[str, str, float]]:
    return set(zip(review["key_a"], review["key_b"], review["probability"].round(6), strict=True))


async def test_other_permitted_encodings_link_the_same(tmp_path: Path) -> None:
    pop = make_population(tmp_path / "pop", households=150, seed=23, profile="alias_heavy")
    other = tmp_path / "other"
    shutil.copytree(pop.root, other)
    folders = sorted(p.parent for p in other.glob("*/manifest.json"))
    csv_folders = [f for f in folders if any(f.glob("*.csv"))]
    assert len(csv_folders) >= 6
    for folder in csv_folders:
        reencode_extract(folder, seed=5)
    # the re-encoding really changed the bytes (and the manifests' digests are gone)
    nominals = next(other.glob("*/nominals.csv"))
    assert nominals.read_bytes() != (pop.root / nominals.parent.name / nominals.name).read_bytes()

    counts_a, mentions_a, rels_a = await _load_and_read(pop.extracts(), tmp_path / "a")
    counts_b, mentions_b, rels_b = await _load_and_read(folders, tmp_path / "b")
    assert counts_b == counts_a
    assert sorted(mentions_b["key"]) == sorted(mentions_a["key"])

    engine = LinkageEngine(workers=1)
    first = engine.link(mentions_a, rels_a)
    second = engine.link(mentions_b, rels_b)
    assert len(first.assignments) > 1_000
    assert _partition(second.assignments) == _partition(first.assignments)
    assert _review(second.review) == _review(first.review)
