"""A partner system sees the requested child's summary and flags — nobody else's identity.

Through ``person.flags.evidence.path.to`` (and ``from``) a partner system used to
read a related adult's name, dates of birth, NHS number, PNC id, prison number and
timeline, and ``Identifier.recordKeys`` gave it record keys. The first test walks
the schema as the policy lets a partner walk it and proves that, by construction,
no such field is reachable; the others ask the running API.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from graphql import GraphQLObjectType, get_named_type

from cpgraph.api import create_app
from cpgraph.config import Backend, Settings
from cpgraph.flags import compute_flags
from cpgraph.graphql.policy import POLICY, allowed
from cpgraph.graphql.schema import build_schema
from cpgraph.security import Role, add_user
from cpgraph.store import GraphStore
from cpgraph.store.falkordb import FalkorDBStore
from tests.integration.api.api_helpers import (
    CHILD,
    FATHER,
    MOTHER,
    PARTNER,
    PURPOSE,
    api_registry,
    gql,
    populate,
)

PARTNER_ROLE = Role.PARTNER_SYSTEM
# Field names that carry record keys or point at agency records.
KEY_FIELDS = {"recordKeys", "sources", "key", "localId", "eventIds", "records", "candidateIds"}
# Types that describe another person, their records or their links: never for partners.
OTHER_PEOPLE_TYPES = {
    "SourceRecord",
    "Relationship",
    "Concern",
    "PossibleMatch",
    "Network",
    "NetworkNode",
    "NetworkEdge",
    "Connections",
    "PersonPath",
    "MatchExplanation",
    "AuditEntry",
    "ReviewItem",
    "CandidatePerson",
}


def _partner_reachable() -> tuple[dict[str, set[str]], set[str]]:
    """Walk the schema from the Query roots following only partner-allowed fields.

    Returns:
        ``type name -> {"Parent.field" it was reached through}`` and the set of
        every allowed ``Type.field`` on the way.
    """
    schema = build_schema()._schema  # noqa: SLF001 — graphql-core schema for introspection
    via: dict[str, set[str]] = defaultdict(set)
    fields_seen: set[str] = set()
    todo = [schema.query_type]
    done: set[str] = set()
    while todo:
        parent = todo.pop()
        if parent.name in done:
            continue
        done.add(parent.name)
        for name, fdef in parent.fields.items():
            if not allowed(parent.name, name, PARTNER_ROLE):
                continue
            fields_seen.add(f"{parent.name}.{name}")
            target = get_named_type(fdef.type)
            if isinstance(target, GraphQLObjectType):
                via[target.name].add(f"{parent.name}.{name}")
                todo.append(target)
    if schema.mutation_type is not None:
        for name in schema.mutation_type.fields:
            assert not allowed(schema.mutation_type.name, name, PARTNER_ROLE), name
    return via, fields_seen


def test_partner_reaches_a_person_only_as_the_requested_or_searched_person() -> None:
    via, fields = _partner_reachable()
    assert via["Person"] == {"Query.person", "SearchCandidate.person"}
    # SearchCandidate is itself reachable only as a searchPeople result.
    assert {v.split(".")[0] for v in via["SearchCandidate"]} == {"SearchCandidateEdge"}
    assert via["SearchCandidateEdge"] == {"SearchCandidateConnection.edges"}
    assert via["SearchCandidateConnection"] == {"Query.searchPeople"}
    # No field that reaches a person is allowed on the flag path.
    assert not {"PathHop.from", "PathHop.to", "PathHop.events"} & fields
    assert not set(via) & OTHER_PEOPLE_TYPES
    keys = sorted(f for f in fields if f.split(".")[1] in KEY_FIELDS)
    assert not keys, f"record keys reachable by partner systems: {keys}"
    # Flags with their reasons and confidence stay visible.
    assert {"Person.flags", "Flag.reason", "Flag.confidence", "Flag.code"} <= fields
    # Every field a partner may select is in the reachable set: no policy entry
    # is granted on a type the walk cannot see (so the walk covers the grants).
    granted = {
        f"{t}.{f}"
        for t, entries in POLICY.items()
        for f, roles in entries.items()
        if PARTNER_ROLE in roles
    }
    assert granted <= fields | {"PageInfo.hasNextPage", "PageInfo.endCursor"}


# --- the running API ---------------------------------------------------------------


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, object]]:
    """The API test household in a real embedded FalkorDB, with flags computed."""
    tmp = tmp_path_factory.mktemp("partner")
    settings = Settings(backend=Backend.FALKORDB, data_dir=tmp / "data", falkordb_url=None)
    store: GraphStore = FalkorDBStore(settings, registry=api_registry())
    await store.start()
    try:
        await store.bootstrap()
        await populate(store)
        await compute_flags(store, as_of=date(2024, 6, 1))
        tokens = {
            role: await add_user(store, f"{role.value}-pv", role)
            for role in (Role.PARTNER_SYSTEM, Role.INVESTIGATOR)
        }
        app = create_app(Settings(data_dir=Path("unused")), store=store)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield {"http": http, "tokens": tokens, "store": store}
    finally:
        await store.close()


async def _ask(world: dict[str, object], role: Role, query: str) -> httpx.Response:
    tokens = world["tokens"]
    assert isinstance(tokens, dict)
    http = world["http"]
    assert isinstance(http, httpx.AsyncClient)
    return await gql(http, query, token=tokens[role], purpose=PURPOSE)


FLAG_PATH_PEOPLE = f"""query {{ person(id: "{CHILD}") {{ flags {{ code
  evidence {{ path {{ %s {{ id displayName datesOfBirth identifiers {{ scheme value }}
  timeline {{ totalCount }} }} }} }} }} }} }}"""


async def test_the_flagged_household_has_flags_naming_other_people(
    world: dict[str, object],
) -> None:
    """The premise: investigators see the other people on the flag path."""
    resp = await _ask(world, Role.INVESTIGATOR, FLAG_PATH_PEOPLE % "to")
    assert resp.status_code == 200, resp.text
    flags = resp.json()["data"]["person"]["flags"]
    reached = {hop["to"]["id"] for f in flags for hop in f["evidence"]["path"]}
    assert reached & {MOTHER, PARTNER, FATHER}, flags


@pytest.mark.parametrize(
    ("query", "denied"),
    [
        (FLAG_PATH_PEOPLE % "to", "PathHop.to"),
        (FLAG_PATH_PEOPLE % "from", "PathHop.from"),
        (
            f'query {{ person(id: "{CHILD}") {{ identifiers {{ scheme recordKeys }} }} }}',
            "Identifier.recordKeys",
        ),
        (
            f'query {{ person(id: "{CHILD}") {{ flags {{ evidence {{ eventIds }} }} }} }}',
            "FlagEvidence.eventIds",
        ),
        (
            f'query {{ person(id: "{CHILD}") {{ flags {{ evidence {{ events {{ id }} }} }} }} }}',
            "FlagEvidence.events",
        ),
        (
            f'query {{ person(id: "{CHILD}") {{ flags {{ evidence {{ path {{ events {{ id }} }} '
            "} } } }",
            "PathHop.events",
        ),
    ],
)
async def test_partner_cannot_reach_other_people_or_record_keys(
    world: dict[str, object], query: str, denied: str
) -> None:
    resp = await _ask(world, Role.PARTNER_SYSTEM, query)
    assert resp.status_code == 403, resp.text
    body = resp.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert denied in body["errors"][0]["message"]


async def test_partner_reads_the_childs_summary_and_flags(world: dict[str, object]) -> None:
    query = f"""query {{ person(id: "{CHILD}") {{ id displayName datesOfBirth
      identifiers {{ scheme value valid }} agencies {{ agency }}
      timeline {{ edges {{ node {{ type date agency }} }} }}
      flags {{ code title reason asOf confidence
        evidence {{ path {{ kind relationship livesWith fromDate toDate }} }} }} }} }}"""
    resp = await _ask(world, Role.PARTNER_SYSTEM, query)
    assert resp.status_code == 200, resp.text
    person = resp.json()["data"]["person"]
    assert person["id"] == CHILD
    assert person["flags"], "the child's flags are visible to partners"
    for flag in person["flags"]:
        assert flag["reason"] and flag["confidence"] in ("CONFIRMED", "POSSIBLE")
        assert flag["evidence"]["path"]
    text = resp.text
    for other in (MOTHER, PARTNER, FATHER):
        assert other not in text
