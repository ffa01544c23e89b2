"""A run writes each resolution by what the mention resolved to when it was read.

New mentions (no person yet), mentions staying with their person, and mentions moving
to another person take different write queries (issue #16, write-back); whichever is
taken, every mention ends up resolving to exactly one person, the one linkage chose.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cpgraph.steward.linking import linkage_service
from tests.integration.linkage.stores import loaded_store

pytestmark = pytest.mark.integration


async def test_moved_new_and_unchanged_mentions_each_resolve_once(tmp_path):

    async with loaded_store(tmp_path, households=120, seed=23) as loaded:
        store, settings = loaded.store, loaded.settings
        used: dict[str, int] = {}
        write_batches = store.write_batches

        async def counting(name, rows, **kw):  # which resolution queries a run takes
            rows = list(rows)
            used[name] = used.get(name, 0) + len(rows)
            return await write_batches(name, rows, **kw)

        store.write_batches = counting  # type: ignore[method-assign]
        service = linkage_service(store, settings)
        first = await service.link(full=True)
        links = await service.assignments()
        # a first run: every mention is new
        assert used.get("persons_resolve_new") == first.mentions
        assert "persons_resolve_same" not in used and "persons_resolve_upsert" not in used
        assert links["record_key"].is_unique and links["person_id"].notna().all()

        # Move some mentions to other persons behind linkage's back (as an earlier
        # run that decided differently would have left them).
        by_person = links.groupby("person_id")["record_key"].apply(list)
        # from persons of three or more mentions: each keeps mentions beside its mover
        movers = [keys[0] for keys in by_person if len(keys) > 2][:5]
        assert movers
        await write_batches(
            "persons_resolve_upsert",
            [
                {
                    "key": key,
                    "person_id": f"PMOVED{n}",
                    "display_name": "",
                    "created_at": "2026-01-01T00:00:00+00:00",
                    "probability": None,
                    "method": "test",
                    "status": "auto",
                    "breakdown": None,
                }
                for n, key in enumerate(movers)
            ],
        )
        moved = await service.assignments()
        assert set(moved.loc[moved["record_key"].isin(movers), "person_id"]) == {
            f"PMOVED{n}" for n in range(len(movers))
        }

        used.clear()
        again = await service.link(full=True)
        after = await service.assignments()
        # one edge per mention (a second edge would be a second row) ...
        assert after["record_key"].is_unique and len(after) == first.mentions
        # ... and the same persons as the first run decided
        assert _partition(after) == _partition(links)
        assert (after["status"] == links["status"]).all()
        # the moved mentions (and any the re-run gave another id) take the
        # detach-and-merge query, the rest stay put
        assert used.get("persons_resolve_upsert", 0) >= len(movers)
        assert used["persons_resolve_upsert"] + used["persons_resolve_same"] == again.mentions
        assert "persons_resolve_new" not in used


async def test_resolution_rows_are_made_a_batch_at_a_time(tmp_path, monkeypatch):
    import cpgraph.linkage.service as service_mod

    async with loaded_store(tmp_path, households=60, seed=29, batch_size=100) as loaded:
        store, settings = loaded.store, loaded.settings
        made = [0]  # resolution rows made so far (each makes its breakdown's JSON once)
        to_json = service_mod._json

        def counting_json(value):
            if isinstance(value, dict) and "prior" in value:
                made[0] += 1
            return to_json(value)

        monkeypatch.setattr(service_mod, "_json", counting_json)
        ahead: list[int] = []
        execute = store.execute

        async def watching(name, **params):
            if name.startswith("persons_resolve_"):
                ahead.append(made[0] - sum(len(r) for r in seen) - len(params["rows"]))
                seen.append(params["rows"])
            return await execute(name, **params)

        seen: list[list] = []
        store.execute = watching  # type: ignore[method-assign]
        report = await linkage_service(store, settings).link(full=True)
        rows = sum(len(r) for r in seen)
        assert rows == report.mentions and len(seen) >= 5
        # no batch's rows were made before the batches ahead of it had been written
        assert ahead and max(ahead) <= 0
        # and every row is a written one, the breakdown as JSON where the mention has one
        assert all(isinstance(r["breakdown"], str | None) for batch in seen for r in batch)


def _partition(links: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(keys) for _, keys in links.groupby("person_id")["record_key"]}
