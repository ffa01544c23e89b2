"""Least privilege (#17 item 4): who may decide, with what purpose, and what a merge may join.

The probe found that admins could merge persons, that mutations needed no
``X-Purpose``, and that a child could be merged into her father although the two held
different valid NHS numbers. Each test here failed on that code. They run the API over
the shared household graph (``tests/integration/api/api_helpers``) in a real embedded
FalkorDB, with a few more records: the father's own hospital record (another valid NHS
number), a second prisoner with another prison number, and a review candidate pairing
the child's and the father's hospital records.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cpgraph.api import create_app
from cpgraph.config import Backend, Settings
from cpgraph.graphql.policy import allowed
from cpgraph.graphql.schema import build_schema
from cpgraph.security import Role, add_user
from cpgraph.security.audit import AuditLog
from cpgraph.steward.decisions import Actor
from cpgraph.steward.errors import StewardForbiddenError
from cpgraph.steward.service import StewardService, identifier_conflicts
from cpgraph.store import GraphStore
from cpgraph.store.falkordb import FalkorDBStore
from tests.integration.api.api_helpers import (
    CHILD,
    FATHER,
    OTHER_CHILD,
    PARTNER,
    PURPOSE,
    SIBLING,
    gql,
    populate,
)
from tests.integration.api.api_helpers import (
    HERE as API_CYPHER,
)
from tests.queries import with_test_queries

SECURITY_CYPHER = Path(__file__).parent / "cypher"
NAMESAKE = "per-namesake"
CHILD_NHS, FATHER_NHS = "9434765919", "9434765870"  # both valid (check digit)
CANDIDATE = "cand-child-father"
EXTRA_RECORDS = [
    {
        "key": "health:patient:H20",
        "system": "health",
        "agency": "health",
        "kind": "patient",
        "local_id": "H20",
        "forename": "David",
        "surname": "Smith",
        "aliases": [],
        "dob": "1988-12-24",
        "sex": "M",
        "postcode": "LS6 2AB",
        "nhs_number": FATHER_NHS,
        "nhs_number_valid": True,
        "name_text": "David Smith",
    },
    {
        "key": "prison:prisoner:J30",
        "system": "prison",
        "agency": "prisons",
        "kind": "prisoner",
        "local_id": "J30",
        "forename": "Mark",
        "surname": "Jones",
        "aliases": [],
        "dob": "1985-07-01",
        "sex": "M",
        "postcode": "B1 1AA",
        "prison_number": "B5678CD",
        "name_text": "Mark Jones",
    },
]


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    """The household graph plus the conflicting records, a candidate and one user per role."""
    tmp = tmp_path_factory.mktemp("leastpriv")
    settings = Settings(backend=Backend.FALKORDB, data_dir=tmp / "data", falkordb_url=None)
    registry = with_test_queries("falkordb", API_CYPHER / "cypher", SECURITY_CYPHER)
    store: GraphStore = FalkorDBStore(settings, registry=registry)
    await store.start()
    try:
        await store.bootstrap()
        await populate(store)
        await store.write_batches("source_records_upsert", EXTRA_RECORDS)
        await store.write_batches(
            "persons_resolve_upsert",
            [
                {
                    "key": key,
                    "person_id": pid,
                    "display_name": name,
                    "created_at": "2024-06-01T00:00:00+00:00",
                    "probability": 1.0,
                    "method": "deterministic",
                    "status": "auto",
                    "breakdown": "[]",
                }
                for key, pid, name in (
                    ("health:patient:H20", FATHER, "David Smith"),
                    ("prison:prisoner:J30", NAMESAKE, "Mark Jones"),
                )
            ],
        )
        await store.write_batches(
            "linkage_review_upsert",
            [
                {
                    "candidate_id": CANDIDATE,
                    "key_a": "health:patient:H1",
                    "key_b": "health:patient:H20",
                    "at": "2024-06-01T00:00:00+00:00",
                    "probability": 0.6,
                    "weight": 0.5,
                    "breakdown": "[]",
                    "run_id": "run-test",
                    "person_a": CHILD,
                    "person_b": FATHER,
                    "reason": "uncertain",
                    "consequence": 1.0,
                    "rank_pos": 1,
                    "prob_pos": 1,
                    "prob_desc_pos": 1,
                    "new_pos": 1,
                    "prior": 0.0,
                    "steps": "[]",
                    "impact_reasons": [],
                    "system_a": "health",
                    "system_b": "health",
                    "flagged": False,
                    "evidence": [],
                }
            ],
        )
        tokens = {role: await add_user(store, f"{role.value}-lp", role) for role in Role}
        app = create_app(Settings(data_dir=Path("unused")), store=store)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield {"http": http, "tokens": tokens, "store": store}
    finally:
        await store.close()


async def _ask(
    world: dict[str, Any],
    role: Role,
    query: str,
    purpose: str | None = PURPOSE,
    **variables: Any,
) -> httpx.Response:
    return await gql(
        world["http"], query, token=world["tokens"][role], purpose=purpose, variables=variables
    )


MERGE = """mutation M($ids: [ID!]!, $o: Boolean! = false) {
  mergePersons(ids: $ids, reason: "same person, checked", overrideIdentifierConflict: $o) {
    decisionId decision retired auditSeq after { personId recordKeys } } }"""
DECIDE = """mutation D($id: ID!, $d: MatchDecision!, $o: Boolean! = false) {
  decideMatch(candidateId: $id, decision: $d, reason: "twin records, checked",
              overrideIdentifierConflict: $o) {
    decisionId decision retired auditSeq candidateVersion } }"""
SPLIT = """mutation S($p: ID!, $k: [String!]!) {
  splitPerson(personId: $p, recordKeys: $k, reason: "not the same child") { decisionId } }"""
UNLINK = """mutation U($k: String!) {
  unlinkRecord(recordKey: $k, reason: "wrong person") { decisionId } }"""
WHO = """query W($id: ID!) { person(id: $id) { id sourceRecords { totalCount } } }"""

# Each mutation with arguments that would succeed for a steward with a purpose.
MUTATIONS = [
    ("mergePersons", MERGE, {"ids": [SIBLING, OTHER_CHILD]}),
    ("decideMatch", DECIDE, {"id": CANDIDATE, "d": "DEFER"}),
    ("splitPerson", SPLIT, {"p": CHILD, "k": ["csc:person:C1"]}),
    ("unlinkRecord", UNLINK, {"k": "csc:person:C1"}),
]


async def _person(world: dict[str, Any], pid: str) -> dict[str, Any]:
    r = await _ask(world, Role.INVESTIGATOR, WHO, id=pid)
    assert r.status_code == 200, r.text
    return r.json()["data"]["person"]


# --- 1. mutations need a purpose -----------------------------------------------------


@pytest.mark.parametrize(("name", "query", "variables"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
@pytest.mark.parametrize("purpose", [None, "   ", "no separator here"])
async def test_a_mutation_without_a_valid_purpose_is_refused(
    world: dict[str, Any], name: str, query: str, variables: dict[str, Any], purpose: str | None
) -> None:
    before = await _person(world, CHILD)
    r = await _ask(world, Role.DATA_STEWARD, query, purpose=purpose, **variables)
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "PURPOSE_REQUIRED"
    assert "X-Purpose" in body["errors"][0]["message"]
    assert await _person(world, CHILD) == before  # nothing ran


# --- 2. only data stewards decide ----------------------------------------------------


def test_every_mutation_is_for_data_stewards_only() -> None:
    schema = build_schema()._schema  # noqa: SLF001 — graphql-core schema
    assert schema.mutation_type is not None
    names = set(schema.mutation_type.fields)
    assert {"decideMatch", "mergePersons", "splitPerson", "unlinkRecord"} <= names
    for name in names:
        assert {r for r in Role if allowed("Mutation", name, r)} == {Role.DATA_STEWARD}, name


@pytest.mark.parametrize(("name", "query", "variables"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
async def test_an_admin_may_not_decide(
    world: dict[str, Any], name: str, query: str, variables: dict[str, Any]
) -> None:
    r = await _ask(world, Role.ADMIN, query, **variables)
    assert r.status_code == 403, r.text
    err = r.json()["errors"][0]
    assert err["extensions"]["code"] == "FORBIDDEN"
    assert err["message"].startswith("role admin may not")
    assert r.json()["data"] is None


async def test_the_service_refuses_an_admin_too(world: dict[str, Any]) -> None:
    """The service checks the role again (the terminal review and scripts call it)."""
    service = StewardService(world["store"])
    with pytest.raises(StewardForbiddenError):
        await service.merge_persons(Actor("root", Role.ADMIN), [SIBLING, OTHER_CHILD], "same")


# --- 3. no merge across different valid identifiers without an override -------------


def test_identifier_conflicts_counts_only_valid_values_across_persons() -> None:
    def row(pid: str, **ids: Any) -> dict[str, Any]:
        return {"person_id": pid, **ids}

    nhs_a = {"nhs_number": CHILD_NHS, "nhs_number_valid": True}
    assert identifier_conflicts([row("a", **nhs_a), row("b", **nhs_a)]) == []
    assert (
        identifier_conflicts(
            [row("a", **nhs_a), row("b", nhs_number=FATHER_NHS, nhs_number_valid=False)]
        )
        == []
    )
    assert identifier_conflicts(
        [row("a", **nhs_a), row("b", nhs_number=FATHER_NHS, nhs_number_valid=True)]
    ) == ["NHS_NUMBER"]
    # prison numbers have no check digit: valid unless a source said otherwise
    assert identifier_conflicts(
        [row("a", prison_number="A1234BC"), row("b", prison_number="B5678CD")]
    ) == ["PRISON_NUMBER"]
    assert identifier_conflicts(
        [
            row("a", upn="A1", upn_valid=True, pnc_id="P1", pnc_id_valid=True),
            row("b", upn="A2", upn_valid=True, pnc_id="P2", pnc_id_valid=True),
        ]
    ) == ["UPN", "PNC_ID"]
    # one person already holding two values is not a conflict of this merge's making
    assert (
        identifier_conflicts(
            [row("a", **nhs_a), row("a", nhs_number=FATHER_NHS, nhs_number_valid=True), row("b")]
        )
        == []
    )


def _no_values(text: str) -> None:
    for value in (CHILD_NHS, FATHER_NHS, "A1234BC", "B5678CD"):
        assert value not in text


async def test_merging_a_child_into_her_father_with_another_nhs_number_is_refused(
    world: dict[str, Any],
) -> None:
    r = await _ask(world, Role.DATA_STEWARD, MERGE, ids=[CHILD, FATHER])
    body = r.json()
    assert body["data"] is None, r.text
    err = body["errors"][0]
    assert err["extensions"]["code"] == "CONFLICT"
    assert err["extensions"]["identifierKinds"] == ["NHS_NUMBER"]
    assert "NHS_NUMBER" in err["message"] and "overrideIdentifierConflict" in err["message"]
    _no_values(r.text)
    assert (await _person(world, FATHER))["id"] == FATHER  # still apart


async def test_a_link_across_nhs_numbers_needs_the_override_which_is_recorded(
    world: dict[str, Any],
) -> None:
    r = await _ask(world, Role.DATA_STEWARD, DECIDE, id=CANDIDATE, d="LINK")
    err = r.json()["errors"][0]
    assert err["extensions"]["code"] == "CONFLICT", r.text
    assert err["extensions"]["identifierKinds"] == ["NHS_NUMBER"]
    _no_values(r.text)
    assert (await _person(world, FATHER))["id"] == FATHER

    r = await _ask(world, Role.DATA_STEWARD, DECIDE, id=CANDIDATE, d="LINK", o=True)
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    out = r.json()["data"]["decideMatch"]
    assert out["decision"] == "LINK" and out["retired"] == [FATHER]
    store = world["store"]
    stored = (await store.query("test_decision_get", decision_id=out["decisionId"]))[0]
    decision = stored["decision"]
    assert decision["override"] == "identifier_conflict:NHS_NUMBER"
    assert decision["purpose"] == PURPOSE
    assert decision["reason"] == "twin records, checked"
    entry = (await AuditLog(store).page(after_seq=out["auditSeq"] - 1, limit=1))[0]
    assert entry.seq == out["auditSeq"]
    assert entry.purpose == PURPOSE
    assert "override=identifier_conflict:NHS_NUMBER" in entry.action
    assert f"reason={json.dumps('twin records, checked')}" in entry.action
    _no_values(entry.action)


async def test_a_merge_across_prison_numbers_needs_the_override(world: dict[str, Any]) -> None:
    r = await _ask(world, Role.DATA_STEWARD, MERGE, ids=[PARTNER, NAMESAKE])
    err = r.json()["errors"][0]
    assert err["extensions"]["code"] == "CONFLICT", r.text
    assert err["extensions"]["identifierKinds"] == ["PRISON_NUMBER"]
    _no_values(r.text)
    r = await _ask(world, Role.DATA_STEWARD, MERGE, ids=[PARTNER, NAMESAKE], o=True)
    out = r.json()["data"]["mergePersons"]
    assert sorted(out["retired"]) == sorted([PARTNER, NAMESAKE])[1:]
    entry = (await AuditLog(world["store"]).page(after_seq=out["auditSeq"] - 1, limit=1))[0]
    assert "override=identifier_conflict:PRISON_NUMBER" in entry.action
    assert entry.purpose == PURPOSE


async def test_a_steward_mutation_is_audited_with_its_purpose(world: dict[str, Any]) -> None:
    r = await _ask(world, Role.DATA_STEWARD, MERGE, ids=[SIBLING, OTHER_CHILD])
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    out = r.json()["data"]["mergePersons"]
    entry = (await AuditLog(world["store"]).page(after_seq=out["auditSeq"] - 1, limit=1))[0]
    assert entry.action.startswith("steward:merge:LINK")
    assert entry.purpose == PURPOSE
    assert "override=" not in entry.action  # nothing to override: none recorded
    stored = (await world["store"].query("test_decision_get", decision_id=out["decisionId"]))[0]
    assert stored["decision"]["purpose"] == PURPOSE
    assert stored["decision"].get("override") is None
