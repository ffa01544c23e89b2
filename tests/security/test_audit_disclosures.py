"""Every person id and record key an answer discloses is in that request's audit entry (#17).

A generated population is loaded, linked and flagged in a real embedded FalkorDB and
served through the real app. Broad queries run as each role; every string of the JSON
answer (cursors decoded too) that is a person id or a record key of the population
must be named by the entry the request wrote — including the relatives reached
through `relationships`/`household` without selecting `person`, household concerns
without `subject`, and the record keys of timelines, identifiers, relationships,
flags, paths and network edges. An auditor's read names the entries it showed, whose
persons and records cover what it saw.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from cpgraph.api import create_app
from cpgraph.config import Backend, Settings
from cpgraph.flags import compute_flags
from cpgraph.ingest.engine import load_extracts
from cpgraph.linkage.service import LinkageService
from cpgraph.security import AuditLog, AuditRecord, Role, add_user, verify_chain
from cpgraph.steward.linking import linkage_service
from cpgraph.store import GraphStore, create_store
from tests.factories import UNTHROTTLED, make_population

pytestmark = pytest.mark.e2e

HOUSEHOLDS = 24
SEED = 5
AS_OF = "2026-11-01"  # the generator's extracted_at
PURPOSE = "CP-2026-0017; disclosure audit check"


@dataclass
class World:
    http: httpx.AsyncClient
    store: GraphStore
    tokens: dict[Role, str]
    persons: set[str]
    records: set[str]
    children: list[str]
    record_pairs: list[tuple[str, str]]


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """The population behind the app, one user per role."""
    root = tmp_path_factory.mktemp("disclosures")
    population = make_population(root / "pop", households=HOUSEHOLDS, seed=SEED)
    settings = Settings(backend=Backend.FALKORDB, data_dir=root / "data", falkordb_url=None)
    store = create_store(settings)
    await store.start()
    try:
        await store.bootstrap()
        await load_extracts(store, population.extracts())
        await linkage_service(store, settings).link()
        await compute_flags(store)
        links = await LinkageService(store, settings).assignments()
        links = links[links["person_id"].notna()]
        by_key = dict(zip(links["record_key"], links["person_id"], strict=True))
        tokens = {role: await add_user(store, f"{role.value}-disc", role) for role in Role}
        children: list[str] = []
        for scenario in population.scenarios():
            pid = by_key.get(scenario["child_record_keys"][0])
            if pid and pid not in children:
                children.append(pid)
        # two records of one person (an explanation of a link) and of two persons
        grouped = links.groupby("person_id")["record_key"].apply(list)
        multi = [keys for keys in grouped if len(keys) >= 2]
        pairs = [(multi[0][0], multi[0][1]), (multi[0][0], multi[1][0])]
        app = create_app(Settings(data_dir=root / "unused", **UNTHROTTLED), store=store)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield World(
                http,
                store,
                tokens,
                set(by_key.values()),
                set(by_key),
                children[:4],
                pairs,
            )
    finally:
        await store.close()


CASEWORK_PERSON = """
query Casework($id: ID!, $asOf: Date!) {
  person(id: $id) {
    id displayName datesOfBirth
    identifiers { scheme value recordKeys }
    agencies { agency systems recordCount }
    sourceRecords(first: 100) { edges { cursor node { key surname resolution { status } } } }
    relationships(first: 100) { edges { cursor node { type statedType sources } } }
    household(asOf: $asOf) { type livesWith sources }
    timeline(first: 100) { edges { cursor node { id type date summary recordKeys } } }
    concerns(includeHousehold: true, asOf: $asOf, first: 100) {
      edges { cursor node { relationship event { id type recordKeys } } }
    }
    flags {
      id code reason confidence
      evidence {
        recordKeys eventIds
        events { id recordKeys }
        path { kind relationship sources from { id } to { id } events { id recordKeys } }
      }
    }
    possibleMatches { probability reason recordKeys candidateIds agencies }
  }
  network(personId: $id, depth: 2, first: 60, includeEvents: true) {
    truncated
    nodes { id kind hops label event { id recordKeys } }
    edges { source target kind relationship sources }
  }
}
"""

SEARCH = """
query Search($name: String!) {
  searchPeople(name: $name, first: 20) {
    edges { cursor node { score recordKeys person { id displayName } } }
  }
}
"""

CONNECTIONS = """
query Connections($a: ID!, $b: ID!) {
  connections(fromId: $a, toId: $b, maxDepth: 6, first: 5) {
    length truncated from { id } to { id }
    paths { length hops { kind relationship sources from { id } to { id }
      events { id recordKeys } } }
  }
}
"""

EXPLAIN = """
query Explain($a: String!, $b: String!) {
  explainMatch(recordKeyA: $a, recordKeyB: $b) {
    probability summary samePerson
    recordA { key person { id } } recordB { key person { id } }
  }
  record(key: $a) { key identifiers { recordKeys } person { id } }
}
"""

REVIEW = """
query Review {
  reviewQueue(first: 20, includeDeferred: true) {
    edges { cursor node {
      id reason
      recordA { key person { id } } recordB { key }
      personA { id recordKeys displayName } personB { id recordKeys }
      impact { survivingPersonId retiredPersonId summary }
    } }
  }
}
"""

PARTNER_PERSON = """
query Partner($id: ID!) {
  person(id: $id) {
    id displayName datesOfBirth
    identifiers { scheme value valid }
    agencies { agency recordCount }
    timeline(first: 100) { edges { cursor node { id type date } } }
    flags { code reason confidence evidence { path { kind relationship fromDate } } }
  }
}
"""

PARTNER_SEARCH = """
query PartnerSearch($name: String!) {
  searchPeople(name: $name, first: 20) { edges { cursor node { score person { id } } } }
}
"""

AUDIT = """
query Audit {
  auditLog(first: 100) {
    pageInfo { endCursor hasNextPage }
    edges { cursor node { seq user action persons records } }
  }
}
"""


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _decoded(text: str) -> str | None:
    """A cursor's content (`kind:sort key`), when the string is one."""
    if not re.fullmatch(r"[A-Za-z0-9_\-]+=*", text) or len(text) < 8:
        return None
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return raw if ":" in raw else None


def disclosed(world: World, data: Any) -> tuple[set[str], set[str]]:
    """The population's person ids and record keys anywhere in an answer."""
    persons: set[str] = set()
    records: set[str] = set()

    def check(text: str) -> None:
        if text in world.records:
            records.add(text)
        if text in world.persons:
            persons.add(text)
        if text.startswith("person:") and text[7:] in world.persons:
            persons.add(text[7:])

    for text in _strings(data):
        check(text)
        cursor = _decoded(text)
        if cursor is not None:
            _, _, key = cursor.partition(":")
            check(key)
            for part in key.split("|"):
                check(part)
    return persons, records


async def _head(store: GraphStore) -> int:
    rows = await store.query("audit_head")
    return int(rows[0]["seq"]) if rows else 0


async def run(
    world: World, role: Role, query: str, **variables: Any
) -> tuple[dict[str, Any], list[AuditRecord]]:
    """Send one request; its answer's data and the audit entries it wrote."""
    before = await _head(world.store)
    resp = await world.http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {world.tokens[role]}", "X-Purpose": PURPOSE},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert not body.get("errors"), body["errors"]
    return body["data"], await AuditLog(world.store).page(after_seq=before, limit=10)


async def assert_audited(world: World, role: Role, query: str, **variables: Any) -> set[str]:
    """Run the query; its one entry names every person id and record key it shows."""
    data, entries = await run(world, role, query, **variables)
    persons, records = disclosed(world, data)
    assert len(entries) == 1, [e.action for e in entries]
    (entry,) = entries
    assert entry.user == f"{role.value}-disc" and entry.role == role.value
    assert entry.purpose == PURPOSE
    assert persons <= set(entry.persons), sorted(persons - set(entry.persons))
    assert records <= set(entry.records), sorted(records - set(entry.records))
    return persons | records


async def test_casework_profiles_and_networks_audit_all_they_show(world: World) -> None:
    """Investigators and stewards: profiles with relatives (no `person` selected),
    household concerns (no `subject`), timelines, identifiers, flags and networks."""
    assert len(world.children) >= 3
    shown: set[str] = set()
    for role in (Role.INVESTIGATOR, Role.DATA_STEWARD):
        for child in world.children:
            shown |= await assert_audited(world, role, CASEWORK_PERSON, id=child, asOf=AS_OF)
    # the check is not vacuous: relatives' ids, and keys of several kinds, were shown
    assert len(shown & world.persons) > len(world.children)
    assert len(shown & world.records) > 10


async def test_relatives_are_audited_without_selecting_them(world: World) -> None:
    """A household read with only `type` still names the household in the entry."""
    query = """query($id: ID!, $asOf: Date!) { person(id: $id) {
      household(asOf: $asOf) { type }
      concerns(includeHousehold: true, asOf: $asOf, first: 100) { edges { node {
        relationship event { type } } } } } }"""
    named = 0
    for child in world.children:
        data, (entry,) = await run(world, Role.INVESTIGATOR, query, id=child, asOf=AS_OF)
        full = """query($id: ID!, $asOf: Date!) { person(id: $id) {
          household(asOf: $asOf) { person { id } } } }"""
        ids, _ = await run(world, Role.INVESTIGATOR, full, id=child, asOf=AS_OF)
        members = {h["person"]["id"] for h in ids["person"]["household"]}
        assert len(data["person"]["household"]) == len(members)
        assert members <= set(entry.persons)
        named += len(members)
    assert named > 0


async def test_search_connections_explanations_and_review_audit_all_they_show(
    world: World,
) -> None:
    for role in (Role.INVESTIGATOR, Role.DATA_STEWARD):
        await assert_audited(world, role, SEARCH, name="smith")
        a, b = world.children[0], world.children[1]
        await assert_audited(world, role, CONNECTIONS, a=a, b=b)
        for key_a, key_b in world.record_pairs:
            await assert_audited(world, role, EXPLAIN, a=key_a, b=key_b)
    shown = await assert_audited(world, Role.DATA_STEWARD, REVIEW)
    assert shown & world.records, "the review queue is empty: nothing was checked"


async def test_partner_views_audit_all_they_show(world: World) -> None:
    for child in world.children:
        shown = await assert_audited(world, Role.PARTNER_SYSTEM, PARTNER_PERSON, id=child)
        assert child in shown
    await assert_audited(world, Role.PARTNER_SYSTEM, PARTNER_SEARCH, name="smith")


async def test_an_admins_me_discloses_nothing_and_writes_nothing(world: World) -> None:
    data, entries = await run(world, Role.ADMIN, "query { me { name role } }")
    assert disclosed(world, data) == (set(), set())
    assert entries == []


async def test_an_auditors_read_names_the_entries_it_showed(world: World) -> None:
    """What an auditor sees (the persons and records of entries) is covered by the
    entries its own entry names (`seqs=A-B`): by reference, not copied."""
    await assert_audited(
        world, Role.INVESTIGATOR, CASEWORK_PERSON, id=world.children[0], asOf=AS_OF
    )
    data, (entry,) = await run(world, Role.AUDITOR, AUDIT)
    persons, records = disclosed(world, data)
    assert persons and records
    match = re.fullmatch(r"query:auditLog seqs=(\d+)-(\d+)", entry.action)
    assert match, entry.action
    first, last = int(match.group(1)), int(match.group(2))
    named = [e for e in await AuditLog(world.store).page(after_seq=0, limit=1000)]
    named = [e for e in named if first <= e.seq <= last]
    shown = [e["node"]["seq"] for e in data["auditLog"]["edges"]]
    assert shown == [e.seq for e in named]
    assert persons <= {p for e in named for p in e.persons}
    assert records <= {r for e in named for r in e.records}
    assert (await verify_chain(world.store)).ok


MERGE = """mutation Merge($ids: [ID!]!) {
  mergePersons(ids: $ids, reason: "one person, checked", overrideIdentifierConflict: true) {
    decisionId retired revived auditSeq
    before { personId recordKeys } after { personId recordKeys }
  }
}"""
SPLIT = """mutation Split($p: ID!, $k: [String!]!) {
  splitPerson(personId: $p, recordKeys: $k, reason: "the merge was wrong") {
    decisionId retired revived auditSeq
    before { personId recordKeys } after { personId recordKeys }
  }
}"""


async def test_a_decisions_answer_is_covered_by_its_decision_entry(world: World) -> None:
    """A mutation's answer (persons and records before and after) is named by the one
    entry its decision writes (runs last: it changes who is whom, then undoes it)."""
    a, b = sorted(world.persons - set(world.children))[:2]
    data, entries = await run(world, Role.DATA_STEWARD, MERGE, ids=[a, b])
    merged = data["mergePersons"]
    split_keys = next(p["recordKeys"] for p in merged["before"] if p["personId"] == b)
    data2, entries2 = await run(world, Role.DATA_STEWARD, SPLIT, p=a, k=split_keys)
    for answer, written, name in ((data, entries, "merge"), (data2, entries2, "split")):
        (entry,) = written
        assert entry.action.startswith(f"steward:{name}:")
        assert entry.seq == next(iter(answer.values()))["auditSeq"]
        persons, records = disclosed(world, answer)
        assert persons and records
        assert persons <= set(entry.persons), sorted(persons - set(entry.persons))
        assert records <= set(entry.records), sorted(records - set(entry.records))
