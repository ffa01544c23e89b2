"""A pair a reviewable guard keeps apart (issue #13, spec v11) through the store and the
API, in a real embedded FalkorDB: a force holding one name twice at one address, one
nominal undated, is two persons, a possible match with the guard as its reason, in the
stewards' queue and in `Person.possibleMatches`; a steward's LINK joins them for good."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from steward_helpers import STEWARD, Linked, linked_population

from cpgraph.api import create_app
from cpgraph.config import Settings
from cpgraph.flags.service import read_possible_matches
from cpgraph.security import Role, add_user
from cpgraph.steward.queue import load_queue
from tests.factories import UNTHROTTLED, make_population, undeclare_files
from tests.specs import spec_with

FATHER, SON = "wmp-niche:nominal:NM9000001", "wmp-niche:nominal:NM9000002"
REASON = "index_namesakes_at_home"
POSSIBLE = """
query($id: ID!) {
  person(id: $id) { possibleMatches { person { id } reason candidateIds recordKeys } }
}
"""


def _add_namesakes(folder: Path) -> None:
    """Two nominals of one name at one address, the second without a date of birth."""
    path = folder / "nominals.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    row = {
        "forename": "Desmond",
        "surname": "Okonkwo-Reid",
        "gender": "M",
        "address": "14 QUARRY LANE",
        "postcode": "B64 6QA",
    }
    with path.open("a", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header, restval="")
        w.writerow({**row, "nominal_id": "NM9000001", "date_of_birth": "1971-08-19"})
        w.writerow({**row, "nominal_id": "NM9000002"})
    undeclare_files(folder)


@pytest.fixture
async def linked(tmp_path: Path) -> AsyncIterator[Linked]:
    pop = make_population(tmp_path / "pop", households=20, seed=4)
    _add_namesakes(pop.root / "wmp-niche")
    async with linked_population(
        tmp_path / "data",
        pop,
        spec=spec_with("guards", index_namesakes_at_home=["nominal"], reviewable=[REASON]),
    ) as graph:
        yield graph


async def test_a_reviewable_guard_pair_is_a_possible_match_until_a_steward_links_it(
    linked: Linked,
) -> None:
    persons = await linked.persons()
    assert persons[FATHER] != persons[SON]
    (item,) = [it for it in await load_queue(linked.store) if {it.key_a, it.key_b} == {FATHER, SON}]
    assert item.reason == REASON and item.probability >= 0.6
    pairs = [
        pm
        for pm in await read_possible_matches(linked.store)
        if pm.candidate_id == item.candidate_id
    ]
    assert {(pm.person_id, pm.other_id) for pm in pairs} == {
        (persons[FATHER], persons[SON]),
        (persons[SON], persons[FATHER]),
    }
    assert {pm.reason for pm in pairs} == {REASON}

    # the investigators' view over the API
    token = await add_user(linked.store, "investigator-rg", Role.INVESTIGATOR)
    app = create_app(Settings(data_dir=Path("unused"), **UNTHROTTLED), store=linked.store)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as http:
        resp = await http.post(
            "/graphql",
            json={"query": POSSIBLE, "variables": {"id": persons[SON]}},
            headers={"Authorization": f"Bearer {token}", "X-Purpose": "CP-2026-0013; namesakes"},
        )
    body = resp.json()
    assert resp.status_code == 200 and not body.get("errors"), body
    (match,) = [
        m for m in body["data"]["person"]["possibleMatches"] if m["person"]["id"] == persons[FATHER]
    ]
    assert match["reason"] == REASON and item.candidate_id in match["candidateIds"]
    assert set(match["recordKeys"]) >= {FATHER, SON}

    # a steward's "same person" joins them, now and on every later run
    await linked.steward.decide_match(STEWARD, item.candidate_id, "LINK", "one man, checked")
    now = await linked.persons()
    assert now[FATHER] == now[SON]
    await linked.linkage.link(full=True)
    after = await linked.persons()
    assert after[FATHER] == after[SON]
    assert not [
        pm
        for pm in await read_possible_matches(linked.store)
        if set(pm.record_keys) == {FATHER, SON}
    ]
