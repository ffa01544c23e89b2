"""Scenarios end to end over HTTP: generate → load → link → flags → GraphQL.

One session fixture generates a small population (every scenario at least
twice), loads it into a real embedded FalkorDB, links it, computes the
safeguarding flags and serves the app through httpx's ASGI transport. Each
scenario from `scenarios.json` must surface in the child's profile with the
right flag and evidence; controls must raise no flag.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from cpgraph.api import create_app
from cpgraph.config import Backend, Settings
from cpgraph.flags import FlagsReport, compute_flags
from cpgraph.flags.service import read_possible_matches
from cpgraph.ingest.engine import load_extracts
from cpgraph.linkage.service import last_run, learned_name_variants
from cpgraph.security import Role, add_user
from cpgraph.steward.linking import linkage_service
from cpgraph.store import GraphStore, create_store
from tests.factories import UNTHROTTLED, GeneratedPopulation, make_population

pytestmark = pytest.mark.e2e

HOUSEHOLDS = 90  # max(2, 90 // 30) = 3 of each scenario
SEED = 7
AS_OF = "2026-11-01"  # the generator's extracted_at
PURPOSE = "CP-2026-0001; scenario check"


@dataclass
class World:
    http: httpx.AsyncClient
    store: GraphStore
    population: GeneratedPopulation
    flags: FlagsReport
    tokens: dict[Role, str]

    async def gql(
        self, query: str, role: Role = Role.INVESTIGATOR, **variables: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}", "X-Purpose": PURPOSE}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )

    async def data(self, query: str, role: Role = Role.INVESTIGATOR, **variables: Any) -> Any:
        resp = await self.gql(query, role, **variables)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def person_of(self, key: str) -> str | None:
        data = await self.data("query($k: String!) { record(key: $k) { person { id } } }", k=key)
        person = data["record"]["person"]
        return person["id"] if person else None


@pytest.fixture(scope="session")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """A generated, loaded, linked and flagged population behind the API."""
    root = tmp_path_factory.mktemp("scenarios")
    population = make_population(root / "pop", households=HOUSEHOLDS, seed=SEED)
    settings = Settings(backend=Backend.FALKORDB, data_dir=root / "data", falkordb_url=None)
    store = create_store(settings)
    await store.start()
    try:
        await store.bootstrap()
        await load_extracts(store, population.extracts())
        await linkage_service(store, settings).link()
        report = await compute_flags(store)
        tokens = {role: await add_user(store, f"{role.value}-e2e", role) for role in Role}
        # the module's tests share one token per role, far past the default rate limit
        app = create_app(Settings(data_dir=root / "unused", **UNTHROTTLED), store=store)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield World(http, store, population, report, tokens)
    finally:
        await store.close()


PROFILE = """
query($id: ID!, $asOf: Date!) {
  person(id: $id) {
    id
    household(asOf: $asOf) { type person { id } sources }
    relationships(first: 100) { edges { node { type person { id } sources } } }
    timeline(first: 100) { edges { node { id type category date } } }
    concerns(includeHousehold: true, asOf: $asOf, first: 100) {
      edges { node { event { id type date } subject { id } relationship } }
    }
    flags {
      id code title reason asOf
      evidence {
        recordKeys eventIds
        events { id type date }
        path { kind relationship sources from { id } to { id } events { id } }
      }
    }
  }
}
"""


def _scenarios(world: World, kind: str) -> list[dict[str, Any]]:
    found = [s for s in world.population.scenarios() if s["scenario"] == kind]
    assert len(found) >= 2, f"the population has fewer than two {kind} scenarios"
    return found


async def _child(world: World, scenario: dict[str, Any]) -> str:
    """The child's person id; all the child's own mentions must resolve to it."""
    ids = {await world.person_of(k) for k in scenario["child_record_keys"]}
    assert len(ids) == 1 and None not in ids, (
        f"{scenario['id']}: the child's mentions resolve to {sorted(map(str, ids))} "
        "(a linkage miss)"
    )
    return ids.pop()  # type: ignore[return-value]


async def _profile(world: World, person_id: str) -> dict[str, Any]:
    return (await world.data(PROFILE, id=person_id, asOf=AS_OF))["person"]


def _flags(profile: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in profile["flags"] if f["code"] == code]


def _path_persons(flag: dict[str, Any]) -> set[str]:
    return {h["to"]["id"] for h in flag["evidence"]["path"]}


def _must(scenario: dict[str, Any], why: str, kind: str = "record_key") -> list[str]:
    found = [m[kind] for m in scenario["must_connect"] if kind in m and why in m["why"]]
    return [(e) for e in found] if kind == "event_id" else found


async def test_the_pipeline_computed_flags_of_every_kind(world: World) -> None:
    assert world.flags.as_of == AS_OF
    for code in (
        "HOUSEHOLD_ADULT_DOMESTIC_ABUSE",
        "NFA_AFTER_RELATIVE_CONCERN",
        "PARENT_IN_CUSTODY",
        "RELEASE_DUE_SOON",
        "RESTRICTED_PRISONER_CONTACT",
    ):
        assert world.flags.by_code.get(code, 0) >= 1, (code, world.flags.by_code)


async def test_new_partner_and_his_police_history_surface_with_a_flag(world: World) -> None:
    for sc in _scenarios(world, "new_partner"):
        child = await _child(world, sc)
        (nominal,) = _must(sc, "the new partner's nominal in another force")
        partner = await world.person_of(nominal)
        assert partner is not None
        for key in _must(sc, "new partner"):
            assert await world.person_of(key) == partner, f"{sc['id']}: {key} not the partner"
        profile = await _profile(world, child)
        household = {h["person"]["id"]: h for h in profile["household"]}
        assert partner in household, f"{sc['id']}: the new partner is not in the household"
        assert household[partner]["type"] in ("partner_of_parent", "step_parent")
        da_events = set(_must(sc, "domestic abuse by the new partner", "event_id"))
        order_events = set(_must(sc, "order against the new partner", "event_id"))
        concerns = {
            (e["node"]["event"]["id"], e["node"]["subject"]["id"])
            for e in profile["concerns"]["edges"]
        }
        assert {(e, partner) for e in da_events} <= concerns, sc["id"]
        flags = [
            f
            for f in _flags(profile, "HOUSEHOLD_ADULT_DOMESTIC_ABUSE")
            if partner in _path_persons(f)
        ]
        assert len(flags) == 1, f"{sc['id']}: no domestic-abuse flag naming the partner"
        evidence = flags[0]["evidence"]
        assert da_events | order_events <= set(evidence["eventIds"]), sc["id"]
        assert nominal in evidence["recordKeys"]
        assert {h["relationship"] for h in evidence["path"]} & {
            "partner_of_parent",
            "step_parent",
        }
        assert all(h["sources"] for h in evidence["path"])
        assert "domestic abuse" in flags[0]["reason"]


async def test_relatives_concerns_surface_with_nfa_flag(world: World) -> None:
    for sc in _scenarios(world, "relative_concerns"):
        child = await _child(world, sc)
        relative = await world.person_of(_must(sc, "the relative who referred")[0])
        contact = await world.person_of(_must(sc, "the relative who raised concerns")[0])
        assert relative is not None and relative == contact, (
            f"{sc['id']}: the relative's records resolve to {relative} and {contact}"
        )
        profile = await _profile(world, child)
        related = {e["node"]["person"]["id"] for e in profile["relationships"]["edges"]}
        assert relative in related, f"{sc['id']}: the relative is not related to the child"
        referrals = set(_must(sc, "referral by the relative", "event_id"))
        concerns = referrals | set(_must(sc, "raised by the relative", "event_id"))
        own_concerns = {
            e["node"]["event"]["id"]
            for e in profile["concerns"]["edges"]
            if e["node"]["subject"]["id"] == child
        }
        assert concerns <= own_concerns, sc["id"]
        # The police loader does not mark concern_for_welfare occurrences as concerns,
        # so the relative's call to police is in the timeline, not in `concerns`.
        police = set(_must(sc, "reported concern for the child", "event_id"))
        injuries = set(_must(sc, "A&E attendance with an injury", "event_id"))
        timeline = {e["node"]["id"]: e["node"] for e in profile["timeline"]["edges"]}
        assert injuries | police <= set(timeline), sc["id"]
        relative_events = concerns | police

        (nfa,) = _flags(profile, "NFA_AFTER_RELATIVE_CONCERN")
        assert referrals <= set(nfa["evidence"]["eventIds"]), sc["id"]
        flagged_people = _path_persons(nfa)
        repeated = _flags(profile, "REPEATED_RELATIVE_CONCERNS")
        for flag in repeated:
            flagged_people |= _path_persons(flag)
        assert relative in flagged_people, f"{sc['id']}: the relative is not in the evidence"

        # Repeated concerns: fires exactly when two relative concerns fall within 12 months.
        days = sorted(date.fromisoformat(timeline[e]["date"][:10]) for e in relative_events)
        close = any(b - a <= timedelta(days=365) for a, b in zip(days, days[1:], strict=False))
        assert bool(repeated) == close, (sc["id"], days)


async def test_imprisoned_parent_surfaces_with_custody_and_contact_flags(world: World) -> None:
    for sc in _scenarios(world, "prisoner_family"):
        child = await _child(world, sc)
        (prisoner_key,) = _must(sc, "the parent in prison")
        parent = await world.person_of(prisoner_key)
        police = _must(sc, "the imprisoned parent's police record")
        assert parent is not None and await world.person_of(police[0]) == parent, sc["id"]
        profile = await _profile(world, child)
        related = {
            e["node"]["person"]["id"]: e["node"]["type"] for e in profile["relationships"]["edges"]
        }
        assert related.get(parent) in ("parent", "mother", "father", "step_parent"), sc["id"]
        visits = set(_must(sc, "a prison visit by the child", "event_id"))
        timeline = {e["node"]["id"] for e in profile["timeline"]["edges"]}
        assert visits <= timeline, sc["id"]

        custody = [f for f in _flags(profile, "PARENT_IN_CUSTODY") if parent in _path_persons(f)]
        assert len(custody) == 1, f"{sc['id']}: no custody flag for the parent"
        assert prisoner_key in custody[0]["evidence"]["recordKeys"]
        release = [f for f in _flags(profile, "RELEASE_DUE_SOON") if parent in _path_persons(f)]
        assert bool(release) == ("release due within 90 days" in sc["notes"]), sc["id"]
        restricted = [
            f for f in _flags(profile, "RESTRICTED_PRISONER_CONTACT") if parent in _path_persons(f)
        ]
        assert bool(restricted) == ("child_contact_restriction=true" in sc["notes"]), sc["id"]
        if restricted:
            evidence = restricted[0]["evidence"]
            assert visits <= set(evidence["eventIds"]), sc["id"]
            shared = [h for h in evidence["path"] if h["kind"] == "SHARED_EVENT"]
            assert shared and {e["id"] for e in shared[0]["events"]} == visits


async def test_controls_raise_no_flag(world: World) -> None:
    for sc in _scenarios(world, "control"):
        child = await _child(world, sc)
        profile = await _profile(world, child)
        assert profile["flags"] == [], (sc["id"], [f["code"] for f in profile["flags"]])
        household = {h["person"]["id"] for h in profile["household"]}
        mother_keys = _must(sc, "the mother")
        mothers = {await world.person_of(k) for k in mother_keys}
        assert len(mothers) == 1 and mothers <= household | {
            e["node"]["person"]["id"] for e in profile["relationships"]["edges"]
        }, sc["id"]


CONNECTIONS = """
query($a: ID!, $b: ID!, $d: Int!) {
  connections(fromId: $a, toId: $b, maxDepth: $d) {
    length truncated from { id } to { id }
    paths { length hops { kind relationship sources from { id } to { id } events { id } } }
  }
}
"""


async def test_connections_show_every_hop_with_its_evidence(world: World) -> None:
    sc = _scenarios(world, "prisoner_family")[0]
    child = await _child(world, sc)
    parent = await world.person_of(_must(sc, "the parent in prison")[0])
    found = (await world.data(CONNECTIONS, a=child, b=parent, d=6))["connections"]
    assert found["length"] == 1 and found["from"]["id"] == child and found["to"]["id"] == parent
    hops = found["paths"][0]["hops"]
    kinds = {h["kind"] for h in hops}
    assert kinds == {"RELATIONSHIP", "SHARED_EVENT"}
    assert all(h["sources"] for h in hops)
    shared = next(h for h in hops if h["kind"] == "SHARED_EVENT")
    assert set(_must(sc, "a prison visit by the child", "event_id")) <= {
        e["id"] for e in shared["events"]
    }

    # Two hops: the new partner's former partner, through the occurrence they share.
    np = _scenarios(world, "new_partner")[0]
    np_child = await _child(world, np)
    partner = await world.person_of(_must(np, "the new partner's nominal")[0])
    assert partner is not None
    two = (await world.data(CONNECTIONS, a=np_child, b=partner, d=1))["connections"]
    assert two["length"] == 1
    far = (await world.data(CONNECTIONS, a=np_child, b=child, d=2))["connections"]
    assert far["length"] is None and far["paths"] == []

    resp = await world.gql(CONNECTIONS, a=child, b=parent, d=7)
    assert resp.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


EXPLAIN = """
query($a: String!, $b: String!) {
  explainMatch(recordKeyA: $a, recordKeyB: $b) {
    probability totalWeight priorWeight samePerson summary modelRunId
    comparisons { comparison level m u weight tfAdjustment }
    recordA { key } recordB { key }
  }
}
"""


async def test_explain_match_says_why_and_why_not(world: World) -> None:
    sc = _scenarios(world, "control")[0]
    a, b = sc["child_record_keys"][0], _scenarios(world, "new_partner")[0]["child_record_keys"][0]
    keys = _scenarios(world, "new_partner")[0]["child_record_keys"]
    same = (await world.data(EXPLAIN, a=keys[0], b=keys[1]))["explainMatch"]
    assert same["samePerson"] is True and same["probability"] > 0.9
    assert same["totalWeight"] > 0
    assert {c["comparison"] for c in same["comparisons"]} >= {"forename", "surname", "dob"}
    assert same["modelRunId"] and "for:" in same["summary"]
    different = (await world.data(EXPLAIN, a=a, b=b))["explainMatch"]
    assert different["samePerson"] is False and different["probability"] < 0.5
    assert different["totalWeight"] < same["totalWeight"]
    assert [different["recordA"]["key"], different["recordB"]["key"]] == [a, b]


async def test_partner_systems_see_flags_but_not_their_record_keys(world: World) -> None:
    sc = _scenarios(world, "prisoner_family")[0]
    child = await _child(world, sc)
    query = "query($id: ID!) { person(id: $id) { flags { code reason confidence } } }"
    data = await world.data(query, Role.PARTNER_SYSTEM, id=child)
    assert {f["code"] for f in data["person"]["flags"]} >= {"PARENT_IN_CUSTODY"}
    # Record keys, event ids (a custody id carries the prisoner's number) and the
    # other people on the path are casework only.
    for part in ("recordKeys", "eventIds", "path { to { id } }"):
        keys = "query($id: ID!) { person(id: $id) { flags { evidence { " + part + " } } } }"
        resp = await world.gql(keys, Role.PARTNER_SYSTEM, id=child)
        assert resp.status_code == 403, part
        assert resp.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    resp = await world.gql(CONNECTIONS, Role.PARTNER_SYSTEM, a=child, b=child, d=2)
    assert resp.status_code == 403


async def test_flags_are_not_duplicated_on_a_rerun(world: World) -> None:
    # nothing changed: every flag is left as written (none deleted, none written again)
    again = await compute_flags(world.store)
    assert again.flags == world.flags.flags > 0
    assert again.deleted == 0 and again.written == 0
    assert again.by_code == world.flags.by_code
    assert (await world.store.stats()).nodes.get("Flag") == again.flags


POSSIBLE = """
query($id: ID!) {
  person(id: $id) {
    possibleMatches {
      person { id } probability reason evidence agencies candidateIds recordKeys
      weights { comparison level weight }
    }
  }
}
"""


async def test_undecided_pairs_stay_visible_as_possible_matches(world: World) -> None:
    # (each undecided pair between two persons, first as person_a -> person_b)
    pairs = await read_possible_matches(world.store)
    assert pairs, "the population left nothing for review"
    pm = pairs[0]
    row = {"person_a": pm.person_id, "person_b": pm.other_id, "candidate_id": pm.candidate_id}
    for me, other, own_key in (
        (pm.person_id, pm.other_id, pm.record_keys[0]),
        (pm.other_id, pm.person_id, pm.record_keys[1]),
    ):
        found = (await world.data(POSSIBLE, id=me))["person"]["possibleMatches"]
        match = next((m for m in found if m["person"]["id"] == other), None)
        assert match is not None, f"{me}: {other} is not listed as a possible match"
        assert row["candidate_id"] in match["candidateIds"]
        assert own_key in match["recordKeys"] and len(match["recordKeys"]) >= 2
        assert 0.0 < match["probability"] <= 1.0 and match["reason"]
        assert match["agencies"] and {w["comparison"] for w in match["weights"]} >= {"dob"}
    # casework only: a partner system may not see who else a person might be
    resp = await world.gql(POSSIBLE, Role.PARTNER_SYSTEM, id=row["person_a"])
    assert resp.status_code == 403


async def test_scenario_flags_are_confirmed(world: World) -> None:
    sc = _scenarios(world, "new_partner")[0]
    child = await _child(world, sc)
    query = "query($id: ID!) { person(id: $id) { flags { code confidence } } }"
    flags = (await world.data(query, Role.PARTNER_SYSTEM, id=child))["person"]["flags"]
    assert flags and {f["confidence"] for f in flags} == {"CONFIRMED"}


async def test_search_reads_the_forename_variants_the_run_learned(world: World) -> None:
    run = await last_run(world.store)
    assert run is not None and run["model"] is not None
    learned = await learned_name_variants(world.store)
    assert learned, "the population taught the model no forename variants"
    assert learned == tuple(sorted(tuple(p) for p in run["model"]["name_variants"]))
