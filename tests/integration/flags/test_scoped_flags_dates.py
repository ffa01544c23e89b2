"""A scoped flags run on a new reference date, against a generated population.

Ages, households, custody and releases read the reference date: a scoped run whose
date moved recomputes the persons those dates touch (and their neighbours), re-dates
every other flag in place, and leaves what a full run on that date leaves.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from cpgraph.config import Backend, Settings
from cpgraph.flags import compute_flags, service
from cpgraph.flags.engine import FlagEngine
from cpgraph.ingest.engine import load_extracts
from cpgraph.steward.linking import linkage_service
from cpgraph.store.falkordb import FalkorDBStore
from tests.factories import make_population
from tests.queries import with_test_queries

pytestmark = pytest.mark.integration


async def test_a_scoped_run_on_a_new_date_leaves_what_a_full_run_leaves(tmp_path: Path) -> None:
    pop = make_population(tmp_path / "extracts", households=300, seed=37)
    settings = Settings(backend=Backend.FALKORDB, data_dir=tmp_path / "data", falkordb_url=None)
    store = FalkorDBStore(settings, with_test_queries("falkordb"))
    cache = tmp_path / "data" / "flags" / "possible.npz"
    await store.start()
    try:
        await store.bootstrap()
        await load_extracts(store, pop.extracts())
        await linkage_service(store, settings).link(full=True)
        first = await service.reference_date(store)
        assert not (await compute_flags(store, as_of=first, cache=cache)).scoped
        changed = 0
        # forward a day, a month, a year and more; back again; each from the last
        for days in (1, 31, 200, 400, 800, -750, 3):
            day = first + timedelta(days=days)
            report = await compute_flags(store, as_of=day, changed=[], cache=cache)
            assert report.scoped, day
            changed += report.written + report.deleted
            data = await service.read_input(store, day)
            want = {r["flag_id"]: r["digest"] for r in service.flag_rows(
                FlagEngine(data).run(), "x", "y")}  # fmt: skip
            stored = await service.stored_flags(store)
            assert {k: v["digest"] for k, v in stored.items()} == want, day
            persons = sorted({v["person_id"] for v in stored.values()})
            found = await store.query("api_persons_flags", ids=persons)
            dates = {r["flag"]["as_of"] for r in found}
            assert dates <= {day.isoformat()}, day
            # a scoped run on a new date reads a part of the population, not all of it
            assert report.persons < len(data.dobs), day
        assert changed > 20  # the dates did change flags (ages, releases, households)
    finally:
        await store.close()


def test_the_dates_a_rule_reads_move_with_the_years() -> None:
    assert service._years_before(date(2026, 2, 28), 18) == date(2008, 2, 28)
    assert service._years_before(date(2028, 2, 29), 18) == date(2010, 2, 28)
