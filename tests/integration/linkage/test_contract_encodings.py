"""The same people written the way another agency's export writes them link the same.

A generated population is written twice: plainly, and in the generator's ``varied``
export style (cpgraph.generate.styles: byte-order mark, another column order, UK
dates and times, codes in words, every given name in the forename column, aliases
surname first, postcodes without their space, grouped NHS numbers, short PNC ids,
padded ids...). Loaded into a second store and linked, it must give the same load
counts, the same persons, the same review queue and the same safeguarding flags as
the plain one: nothing may depend on how a source happens to format what it holds.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cpgraph.config import Backend, Settings
from cpgraph.flags.engine import FlagEngine
from cpgraph.flags.service import read_input, reference_date
from cpgraph.ingest.engine import load_extracts
from cpgraph.linkage.engine import LinkageEngine
from cpgraph.steward.linking import linkage_service
from cpgraph.store import create_store
from tests.factories import make_population

pytestmark = pytest.mark.integration

REL_COLUMNS = ["from_key", "to_key", "relationship", "lives_with"]


async def _load_link_flag(folders: list[Path], data_dir: Path):
    """Load, read, link (the service, as `cpgraph link` does) and compute flags."""
    settings = Settings(backend=Backend.FALKORDB, data_dir=data_dir, falkordb_url=None)
    store = create_store(settings)
    await store.start()
    try:
        await store.bootstrap()
        reports = await load_extracts(store, folders)
        service = linkage_service(store, settings)
        data = await service.read()
        await service.link(full=True)
        person_keys = (await service.assignments()).groupby("person_id")["record_key"]
        keys_of = {pid: frozenset(keys) for pid, keys in person_keys}
        day = await reference_date(store)
        flags = FlagEngine(await read_input(store, day)).run()
    finally:
        await store.close()
    counts = {
        (r.system, name): (f.read, f.loaded, f.quarantined)
        for r in reports
        for name, f in r.files.items()
    }
    # a flag as a reader sees it: whose (their records), what, how sure, on which records
    seen = {
        (keys_of.get(f.person_id), f.code, f.confidence, frozenset(f.record_keys)) for f in flags
    }
    return counts, data.mentions, data.relationships[REL_COLUMNS], seen


def _partition(assignments: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(keys) for _, keys in assignments.groupby("person_id")["key"]}


def _review(review: pd.DataFrame) -> set[tuple[str, str, float]]:
    return set(zip(review["key_a"], review["key_b"], review["probability"].round(6), strict=True))


async def test_other_permitted_encodings_link_the_same(tmp_path: Path) -> None:
    plain = make_population(tmp_path / "plain", households=150, seed=23, profile="alias_heavy")
    varied = make_population(
        tmp_path / "varied", households=150, seed=23, profile="alias_heavy", export_style="varied"
    )
    # the same population (truth and all), written another way
    assert (varied.root / "truth.csv").read_bytes() == (plain.root / "truth.csv").read_bytes()
    nominals = sorted(plain.root.glob("*/nominals.csv"))
    assert nominals and all(
        (varied.root / p.parent.name / p.name).read_bytes() != p.read_bytes() for p in nominals
    )

    counts_a, mentions_a, rels_a, flags_a = await _load_link_flag(plain.extracts(), tmp_path / "a")
    counts_b, mentions_b, rels_b, flags_b = await _load_link_flag(varied.extracts(), tmp_path / "b")
    assert counts_b == counts_a
    # the same safeguarding flags, on the same people, citing the same records
    assert len(flags_a) > 20 and {f[1] for f in flags_a} >= {"HOUSEHOLD_ADULT_DOMESTIC_ABUSE"}
    assert flags_b == flags_a
    assert sorted(mentions_b["key"]) == sorted(mentions_a["key"])

    engine = LinkageEngine(workers=1)
    first = engine.link(mentions_a, rels_a)
    second = engine.link(mentions_b, rels_b)
    assert len(first.assignments) > 1_000
    assert _partition(second.assignments) == _partition(first.assignments)
    assert _review(second.review) == _review(first.review)
