"""Profile, record, search and network queries over HTTP on a real embedded FalkorDB."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from api_helpers import CHILD, FATHER, MOTHER, OTHER_CHILD, PARTNER, SIBLING, Tokens, gql

from cpgraph.graphql import search
from cpgraph.store import GraphStore

pytestmark = pytest.mark.integration

PROFILE = """
query Profile($id: ID!, $asOf: Date) {
  person(id: $id) {
    id displayName datesOfBirth
    identifiers { scheme value valid recordKeys }
    agencies { agency systems recordCount }
    sourceRecords(first: 10) {
      totalCount
      edges { node { key system agency forename dateOfBirth
                     resolution { probability method status } person { id } } }
    }
    relationships(asOf: $asOf) { totalCount edges { node { type livesWith fromDate toDate
                                                           sources person { id displayName } } } }
    household(asOf: $asOf) { type person { id displayName } }
  }
}
"""


async def ok(resp: httpx.Response) -> dict[str, Any]:
    body = resp.json()
    assert resp.status_code == 200, body
    assert "errors" not in body, body
    return body["data"]


async def test_profile_joins_records_identifiers_agencies(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    data = await ok(
        await gql(
            client,
            PROFILE,
            token=tokens.investigator,
            variables={"id": CHILD, "asOf": "2024-06-01"},
        )
    )
    person = data["person"]
    assert person["id"] == CHILD
    assert person["displayName"] == "Lily Smith"
    assert person["datesOfBirth"] == ["2016-03-04", "2016-04-03"]
    idents = {(i["scheme"], i["value"]): i for i in person["identifiers"]}
    assert idents[("NHS_NUMBER", "9434765919")]["valid"] is True
    assert idents[("UPN", "A123456789012")]["valid"] is False
    assert idents[("UPN", "A123456789012")]["recordKeys"] == ["school:pupil:S1"]
    agencies = {a["agency"]: a for a in person["agencies"]}
    assert set(agencies) == {"health", "education", "childrens_social_care"}
    assert agencies["health"]["recordCount"] == 1
    records = {e["node"]["key"]: e["node"] for e in person["sourceRecords"]["edges"]}
    assert person["sourceRecords"]["totalCount"] == 3
    assert records["csc:person:C1"]["resolution"] == {
        "probability": 0.91,
        "method": "fellegi_sunter",
        "status": "reviewed",
    }
    assert records["school:pupil:S1"]["forename"] == "Lilly"  # as recorded
    assert all(r["person"]["id"] == CHILD for r in records.values())


async def test_relationships_and_household_as_of(client: httpx.AsyncClient, tokens: Tokens) -> None:
    now = (
        await ok(
            await gql(
                client,
                PROFILE,
                token=tokens.investigator,
                variables={"id": CHILD, "asOf": "2024-06-01"},
            )
        )
    )["person"]
    household_now = {m["person"]["id"]: m["type"] for m in now["household"]}
    assert household_now == {MOTHER: "mother", PARTNER: "partner_of_parent", SIBLING: "sibling"}
    rels = {e["node"]["person"]["id"]: e["node"] for e in now["relationships"]["edges"]}
    assert FATHER not in rels  # ended 2020
    # The mother's own "child" edge and the child's "mother" edge are one fact, two sources.
    assert rels[MOTHER]["type"] == "mother"
    assert rels[MOTHER]["sources"] == ["csc:person:C1", "health:patient:H2"]

    before = (
        await ok(
            await gql(
                client,
                PROFILE,
                token=tokens.investigator,
                variables={"id": CHILD, "asOf": "2019-01-01"},
            )
        )
    )["person"]
    household_then = {m["person"]["id"] for m in before["household"]}
    assert household_then == {MOTHER, FATHER, SIBLING}  # before the new partner


async def test_relationship_seen_from_the_other_side_is_inverted(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    data = await ok(
        await gql(
            client,
            PROFILE,
            token=tokens.investigator,
            variables={"id": PARTNER, "asOf": "2024-06-01"},
        )
    )
    types = {m["person"]["id"]: m["type"] for m in data["person"]["household"]}
    assert types == {CHILD: "partners_child", MOTHER: "partner"}


async def test_retired_id_answers_with_survivor(client: httpx.AsyncClient, tokens: Tokens) -> None:
    data = await ok(
        await gql(
            client,
            'query { person(id: "per-child-old") { id displayName } }',
            token=tokens.investigator,
        )
    )
    assert data["person"] == {"id": CHILD, "displayName": "Lily Smith"}


async def test_unknown_person_is_not_found_without_echo(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    resp = await gql(
        client, 'query { person(id: "per-nobody-xyz") { id } }', token=tokens.investigator
    )
    body = resp.json()
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "per-nobody-xyz" not in resp.text


TIMELINE = """
query T($id: ID!, $from: Date, $to: Date, $types: [String!], $first: Int!, $after: String) {
  person(id: $id) {
    timeline(from: $from, to: $to, types: $types, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { id type date agency roles summary isConcern recordKeys } }
    }
  }
}
"""


async def test_timeline_filters_and_cursor_pagination(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    base = {"id": PARTNER, "first": 1}
    page1 = (await ok(await gql(client, TIMELINE, token=tokens.investigator, variables=base)))[
        "person"
    ]["timeline"]
    assert page1["totalCount"] == 3
    assert [e["node"]["id"] for e in page1["edges"]] == ["ev-police-1"]
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = await ok(
        await gql(
            client,
            TIMELINE,
            token=tokens.investigator,
            variables={**base, "first": 5, "after": page1["pageInfo"]["endCursor"]},
        )
    )
    ids = [e["node"]["id"] for e in page2["person"]["timeline"]["edges"]]
    assert ids == ["ev-custody-1", "ev-police-2"]
    assert page2["person"]["timeline"]["pageInfo"]["hasNextPage"] is False

    filtered = await ok(
        await gql(
            client,
            TIMELINE,
            token=tokens.investigator,
            variables={**base, "first": 10, "from": "2020-01-01", "types": ["domestic_abuse"]},
        )
    )
    nodes = [e["node"] for e in filtered["person"]["timeline"]["edges"]]
    assert [n["id"] for n in nodes] == ["ev-police-2"]
    assert nodes[0]["roles"] == ["suspect"]
    assert nodes[0]["summary"] == "Neighbour reported shouting"


async def test_bad_cursor_and_page_size_are_precise_errors(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    resp = await gql(
        client,
        TIMELINE,
        token=tokens.investigator,
        variables={"id": PARTNER, "first": 1, "after": "not-a-cursor"},
    )
    assert resp.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    resp = await gql(
        client, TIMELINE, token=tokens.investigator, variables={"id": PARTNER, "first": 1000}
    )
    err = resp.json()["errors"][0]
    assert err["extensions"]["code"] == "BAD_USER_INPUT"
    assert "first must be between 1 and 100" in err["message"]


CONCERNS = """
query C($id: ID!, $hh: Boolean!) {
  person(id: $id) {
    concerns(includeHousehold: $hh, asOf: "2024-06-01") {
      totalCount edges { node { relationship subject { id } event { id concernCategory } } }
    }
  }
}
"""


async def test_concerns_include_household_adults_only_when_asked(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    own = (
        await ok(
            await gql(
                client, CONCERNS, token=tokens.investigator, variables={"id": CHILD, "hh": False}
            )
        )
    )["person"]["concerns"]
    assert [(e["node"]["subject"]["id"], e["node"]["event"]["id"]) for e in own["edges"]] == [
        (CHILD, "ev-school-1")
    ]
    wide = (
        await ok(
            await gql(
                client, CONCERNS, token=tokens.investigator, variables={"id": CHILD, "hh": True}
            )
        )
    )["person"]["concerns"]
    got = {
        (e["node"]["subject"]["id"], e["node"]["event"]["id"], e["node"]["relationship"])
        for e in wide["edges"]
    }
    assert got == {
        (CHILD, "ev-school-1", None),
        (PARTNER, "ev-police-1", "partner_of_parent"),
        (PARTNER, "ev-police-2", "partner_of_parent"),
        (MOTHER, "ev-police-2", "mother"),
    }
    # The sibling is a child: their records would not count as household adults.
    assert all(e["node"]["subject"]["id"] != SIBLING for e in wide["edges"])


async def test_record_by_key_resolves_to_person(client: httpx.AsyncClient, tokens: Tokens) -> None:
    data = await ok(
        await gql(
            client,
            'query { record(key: "prison:prisoner:J1") { key agency localId '
            "identifiers { scheme value valid } resolution { status } "
            "person { id displayName } } }",
            token=tokens.investigator,
        )
    )
    rec = data["record"]
    assert rec["localId"] == "J1"
    assert rec["person"] == {"id": PARTNER, "displayName": "Mark Jones"}
    assert rec["identifiers"] == [{"scheme": "PRISON_NUMBER", "value": "A1234BC", "valid": None}]


SEARCH = """
query S($name: String!, $dob: Date, $pc: String, $first: Int!) {
  searchPeople(name: $name, dateOfBirth: $dob, postcode: $pc, first: $first) {
    edges { node { score nameScore dateOfBirth postcode recordKeys person { id } } }
  }
}
"""


@pytest.mark.parametrize(
    ("name", "dob", "postcode", "expected"),
    [
        ("Lily Smith", "2016-04-03", "LS6 2AB", CHILD),
        ("Lilly Smyth", "2016-03-04", None, CHILD),  # typo, phonetic, transposed date
        ("Bob Jones", None, None, None),  # no Robert: must not crash, may find nobody
        ("Marky Jones", "1985-07-01", None, PARTNER),  # alias
        ("Dave Smith", "1988-12-24", None, FATHER),  # nickname
        ("Lucy Smith", "2016-05-05", "M1 1AA", OTHER_CHILD),
    ],
)
async def test_search_is_fuzzy_and_ranked(
    client: httpx.AsyncClient,
    tokens: Tokens,
    name: str,
    dob: str | None,
    postcode: str | None,
    expected: str | None,
) -> None:
    data = await ok(
        await gql(
            client,
            SEARCH,
            token=tokens.investigator,
            variables={"name": name, "dob": dob, "pc": postcode, "first": 5},
        )
    )
    edges = data["searchPeople"]["edges"]
    scores = [e["node"]["score"] for e in edges]
    assert scores == sorted(scores, reverse=True)
    if expected is not None:
        assert edges, f"nothing found for {name}"
        assert edges[0]["node"]["person"]["id"] == expected


async def test_search_reports_agreement_levels(client: httpx.AsyncClient, tokens: Tokens) -> None:
    data = await ok(
        await gql(
            client,
            SEARCH,
            token=tokens.investigator,
            variables={"name": "Lily Smith", "dob": "2016-04-03", "pc": "LS6 2XX", "first": 3},
        )
    )
    top = data["searchPeople"]["edges"][0]["node"]
    assert top["dateOfBirth"] == "EXACT"
    assert top["postcode"] == "PARTIAL"  # same sector, different unit
    assert "health:patient:H1" in top["recordKeys"]


async def _search(
    client: httpx.AsyncClient, tokens: Tokens, name: str, dob: str | None = None
) -> list[dict[str, Any]]:
    data = await ok(
        await gql(
            client,
            SEARCH,
            token=tokens.investigator,
            variables={"name": name, "dob": dob, "pc": None, "first": 5},
        )
    )
    return [e["node"] for e in data["searchPeople"]["edges"]]


async def test_search_widens_only_when_the_first_query_falls_short(
    client: httpx.AsyncClient, tokens: Tokens, api_store: GraphStore
) -> None:
    before = api_store.round_trips
    good = await _search(client, tokens, "Lily Smith")
    strict_trips = api_store.round_trips - before
    before = api_store.round_trips
    # "qzxvw" matches no record, so the AND query finds nobody; the wider one (any
    # token as spelt) finds Lily.
    rescued = await _search(client, tokens, "Lily Qzxvw")
    fallback_trips = api_store.round_trips - before
    assert good[0]["person"]["id"] == CHILD and good[0]["nameScore"] == 1.0
    assert CHILD in [n["person"]["id"] for n in rescued]
    assert fallback_trips == strict_trips + 1


async def test_search_finds_by_date_of_birth_when_names_queries_miss(
    client: httpx.AsyncClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With both name queries cut to nothing, only the date-of-birth arm can find Lily
    # (as in a large store where her new surname's hits crowd her out).
    monkeypatch.setattr(search, "STRICT_CANDIDATES", 0)
    monkeypatch.setattr(search, "WIDER_CANDIDATES", 0)
    nodes = await _search(client, tokens, "Lilly Smyth", "2016-03-04")
    assert nodes and nodes[0]["person"]["id"] == CHILD
    assert nodes[0]["dateOfBirth"] == "EXACT"  # csc:person:C1 has the transposed date
    assert sorted(nodes[0]["recordKeys"]) == [
        "csc:person:C1",
        "health:patient:H1",
        "school:pupil:S1",
    ]
    assert await _search(client, tokens, "Lilly Smyth") == []  # no date: nothing to go on


NETWORK = """
query N($id: ID!, $depth: Int!, $types: [String!], $events: Boolean!) {
  network(personId: $id, depth: $depth, relationshipTypes: $types, first: 50,
          includeEvents: $events) {
    truncated root { id }
    nodes { id kind hops label person { id } }
    edges { source target kind relationship }
  }
}
"""


async def test_network_depth_types_and_events(client: httpx.AsyncClient, tokens: Tokens) -> None:
    one = (
        await ok(
            await gql(
                client,
                NETWORK,
                token=tokens.investigator,
                variables={"id": MOTHER, "depth": 1, "events": False},
            )
        )
    )["network"]
    hops = {n["person"]["id"]: n["hops"] for n in one["nodes"]}
    assert hops == {MOTHER: 0, CHILD: 1, PARTNER: 1}
    two = (
        await ok(
            await gql(
                client,
                NETWORK,
                token=tokens.investigator,
                variables={"id": MOTHER, "depth": 2, "events": False},
            )
        )
    )["network"]
    hops2 = {n["person"]["id"]: n["hops"] for n in two["nodes"]}
    assert hops2 == {MOTHER: 0, CHILD: 1, PARTNER: 1, FATHER: 2, SIBLING: 2}
    assert {
        "source": "person:per-child",
        "target": "person:per-father",
        "kind": "RELATED_TO",
        "relationship": "father",
    } in two["edges"]
    assert {n["label"] for n in two["nodes"]} >= {"Sarah Smith", "Tom Smith"}

    typed = (
        await ok(
            await gql(
                client,
                NETWORK,
                token=tokens.investigator,
                variables={"id": MOTHER, "depth": 2, "types": ["partner"], "events": False},
            )
        )
    )["network"]
    assert {n["person"]["id"] for n in typed["nodes"]} == {MOTHER, PARTNER}

    with_events = (
        await ok(
            await gql(
                client,
                NETWORK,
                token=tokens.investigator,
                variables={"id": PARTNER, "depth": 1, "events": True},
            )
        )
    )["network"]
    kinds = {n["id"]: n["kind"] for n in with_events["nodes"]}
    assert kinds["event:ev-custody-1"] == "EVENT"
    assert {
        "source": "person:per-partner",
        "target": "event:ev-custody-1",
        "kind": "INVOLVED_IN",
        "relationship": "prisoner",
    } in with_events["edges"]


async def test_network_depth_is_bounded(client: httpx.AsyncClient, tokens: Tokens) -> None:
    resp = await gql(
        client,
        NETWORK,
        token=tokens.investigator,
        variables={"id": MOTHER, "depth": 4, "events": False},
    )
    err = resp.json()["errors"][0]
    assert err["extensions"]["code"] == "BAD_USER_INPUT"
    assert "depth must be between 1 and 3" in err["message"]


async def test_no_n_plus_one(
    client: httpx.AsyncClient, tokens: Tokens, api_store: GraphStore
) -> None:
    query = """
    query Q($id: ID!) { person(id: $id) {
      displayName
      relationships { edges { node { type person { displayName datesOfBirth
          timeline { totalCount } relationships { totalCount } } } } }
      concerns(includeHousehold: true) { totalCount }
    } }"""

    async def trips(person_id: str) -> tuple[int, int]:
        before = api_store.round_trips
        data = await ok(
            await gql(client, query, token=tokens.investigator, variables={"id": person_id})
        )
        return api_store.round_trips - before, len(data["person"]["relationships"]["edges"])

    child_trips, child_rels = await trips(CHILD)
    mother_trips, mother_rels = await trips(MOTHER)
    assert child_rels == 4 and mother_rels == 2
    # auth + person + relationships + related persons + events (x2 levels) + audit:
    # a constant, whatever the number of related persons.
    assert child_trips == mother_trips
    assert child_trips <= 8
