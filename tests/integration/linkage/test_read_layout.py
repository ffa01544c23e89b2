"""How `LinkageService.read` holds what it reads (memory at a million mentions).

The frame must be the one the rows would make (values and dtypes), but no page's row
lists may outlive the page (kept until the end they were ~280 bytes a mention, and the
heap kept their pages), and the relationships' keys are the mentions' own key strings.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import cpgraph.linkage.service as service_module
import cpgraph.store.base as store_base
from cpgraph.config import Backend, Settings
from cpgraph.ingest.engine import load_extracts
from cpgraph.linkage.service import MENTION_COLUMNS, RELATIONSHIP_COLUMNS, LinkageService
from cpgraph.store import create_store
from tests.factories import make_population

pytestmark = pytest.mark.integration


class _Row(list):
    """A page's row that can be watched (a plain list takes no weak reference)."""


async def test_read_keeps_no_page_rows_and_shares_relationship_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pop = make_population(tmp_path / "pop", households=40, seed=7)
    settings = Settings(backend=Backend.FALKORDB, data_dir=tmp_path / "data", falkordb_url=None)
    store = create_store(settings)
    await store.start()
    try:
        await store.bootstrap()
        await load_extracts(store, sorted(p for p in pop.root.iterdir() if p.is_dir()))
        pages: list[list[list[Any]]] = []
        rel_rows: list[list[Any]] = []
        watched: list[weakref.ref] = []
        alive_at_next_page: list[int] = []
        parse = store_base.json_page

        def watching(page: Any) -> list[list[Any]]:
            rows = parse(page)
            if rows and len(rows[0]) == len(MENTION_COLUMNS):
                gc.collect()
                alive_at_next_page.append(sum(r() is not None for r in watched))
                rows = [_Row(r) for r in rows]
                watched.extend(weakref.ref(r) for r in rows)
                pages.append([list(r) for r in rows])  # (copies: the test's own)
            elif rows:
                rel_rows.extend(list(r) for r in rows)
            return rows

        # (mention pages are parsed by the store's cursor, relationship pages by the service)
        monkeypatch.setattr(store_base, "json_page", watching)
        monkeypatch.setattr(service_module, "json_page", watching)
        service = LinkageService(store, settings)
        service.page_size = 60  # several pages
        data = await service.read()
    finally:
        await store.close()
    assert len(pages) >= 4
    # no earlier page's rows were alive when the next page came
    assert alive_at_next_page == [0] * len(pages)
    # the frame the rows make, values and dtypes, in key order
    want = pd.DataFrame([r for p in pages for r in p], columns=list(MENTION_COLUMNS))
    want = want.sort_values("key", kind="stable", ignore_index=True).drop(columns="person_id")
    got = data.mentions
    assert list(got.columns) == list(want.columns)
    assert (got.dtypes == want.dtypes).all()
    no_aliases = want["aliases_m"].map(lambda v: v if v else [])
    pd.testing.assert_frame_equal(got.drop(columns="aliases_m"), want.drop(columns="aliases_m"))
    assert got["aliases_m"].tolist() == no_aliases.tolist()
    assert any(got["aliases_m"].map(len))  # (the population states some aliases)
    # the relationships the rows make, sorted as read() sorts them
    rels = data.relationships
    want_rels = pd.DataFrame(rel_rows, columns=list(RELATIONSHIP_COLUMNS)).sort_values(
        list(RELATIONSHIP_COLUMNS), kind="stable", ignore_index=True, na_position="first"
    )
    pd.testing.assert_frame_equal(rels, want_rels)
    # equal relationship types (and dates) are one string, as the mentions' values are
    firsts: dict[str, str] = {}
    for column in ("relationship", "from_date"):
        for v in rels[column].dropna().tolist():
            assert firsts.setdefault(v, v) is v
    assert firsts
    # a relationship's keys are the mention key objects themselves
    assert list(rels.columns) == list(RELATIONSHIP_COLUMNS) and len(rels)
    key_of = {k: k for k in got["key"].tolist()}
    ends = rels["from_key"].tolist() + rels["to_key"].tolist()
    known = [k for k in ends if k in key_of]
    assert known and all(k is key_of[k] for k in known)
