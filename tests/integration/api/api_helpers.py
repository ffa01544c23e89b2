"""Helpers for API tests: a small household graph in a real embedded FalkorDB.

Product queries write the records, persons and relationships; a few test-only
queries (this folder's `cypher/`, laid over a copy of the product registry)
write events and tamper with the audit chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cpgraph.security import Role
from cpgraph.store import GraphStore
from cpgraph.store.registry import QueryRegistry
from tests.queries import with_test_queries

HERE = Path(__file__).parent
PURPOSE = "CP-2024-0193; section 47 enquiry"

CHILD, MOTHER, PARTNER, FATHER, SIBLING, OTHER_CHILD, LONER = (
    "per-child",
    "per-mother",
    "per-partner",
    "per-father",
    "per-sibling",
    "per-other-child",
    "per-loner",
)


def _record(key: str, forename: str, surname: str, dob: str, **extra: Any) -> dict[str, Any]:
    system, kind, local_id = key.split(":")
    row = {
        "key": key,
        "system": system,
        "agency": extra.pop("agency", system),
        "kind": kind,
        "local_id": local_id,
        "forename": forename,
        "surname": surname,
        "aliases": extra.pop("aliases", []),
        "dob": dob,
        "sex": extra.pop("sex", "U"),
        "postcode": extra.pop("postcode", "LS6 2AB"),
        **extra,
    }
    row["name_text"] = " ".join([forename, surname, *row["aliases"]])
    return row


RECORDS = [
    _record(
        "health:patient:H1",
        "Lily",
        "Smith",
        "2016-04-03",
        agency="health",
        nhs_number="9434765919",
        nhs_number_valid=True,
        sex="F",
    ),
    _record(
        "school:pupil:S1",
        "Lilly",
        "Smith",
        "2016-04-03",
        agency="education",
        upn="A123456789012",
        upn_valid=False,
        sex="F",
    ),
    _record("csc:person:C1", "Lily", "Smith", "2016-03-04", agency="childrens_social_care"),
    _record("health:patient:H2", "Sarah", "Smith", "1990-02-11", agency="health", sex="F"),
    _record(
        "police:person:P3",
        "Mark",
        "Jones",
        "1985-07-01",
        agency="police",
        pnc_id="85/123456X",
        pnc_id_valid=True,
        sex="M",
        aliases=["Marky Jones"],
    ),
    _record(
        "prison:prisoner:J1",
        "Mark",
        "Jones",
        "1985-07-01",
        agency="prisons",
        prison_number="A1234BC",
        sex="M",
    ),
    _record("police:person:P4", "David", "Smith", "1988-12-24", agency="police", sex="M"),
    _record("school:pupil:S2", "Tom", "Smith", "2012-09-09", agency="education", sex="M"),
    _record(
        "health:patient:H9",
        "Lucy",
        "Smythe",
        "2016-05-05",
        agency="health",
        postcode="M1 1AA",
        sex="F",
    ),
    _record("health:patient:H10", "Nobody", "Related", "1970-01-01", agency="health"),
]
RESOLVE = [
    ("health:patient:H1", CHILD, "Lily Smith", 1.0, "deterministic", "auto"),
    ("school:pupil:S1", CHILD, "Lily Smith", 0.987, "fellegi_sunter", "auto"),
    ("csc:person:C1", CHILD, "Lily Smith", 0.91, "fellegi_sunter", "reviewed"),
    ("health:patient:H2", MOTHER, "Sarah Smith", 1.0, "singleton", "singleton"),
    ("police:person:P3", PARTNER, "Mark Jones", 1.0, "deterministic", "auto"),
    ("prison:prisoner:J1", PARTNER, "Mark Jones", 0.99, "fellegi_sunter", "auto"),
    ("police:person:P4", FATHER, "David Smith", 1.0, "singleton", "singleton"),
    ("school:pupil:S2", SIBLING, "Tom Smith", 1.0, "singleton", "singleton"),
    ("health:patient:H9", OTHER_CHILD, "Lucy Smythe", 1.0, "singleton", "singleton"),
    ("health:patient:H10", LONER, "Nobody Related", 1.0, "singleton", "singleton"),
]
RELATED = [
    # (from, to, relationship of `to` to `from`, lives_with, from_date, to_date, sources)
    (CHILD, MOTHER, "mother", True, "2016-04-03", None, ["csc:person:C1"]),
    (MOTHER, CHILD, "child", True, "2016-04-03", None, ["health:patient:H2"]),
    (CHILD, FATHER, "father", True, "2016-04-03", "2020-06-30", ["csc:person:C1"]),
    (CHILD, PARTNER, "partner_of_parent", True, "2024-01-15", None, ["csc:person:C1"]),
    (MOTHER, PARTNER, "partner", True, "2024-01-15", None, ["police:person:P3"]),
    (CHILD, SIBLING, "sibling", True, "2016-04-03", None, ["school:pupil:S1"]),
]
EVENTS = [
    (
        "ev-school-1",
        "school_concern",
        "concern",
        True,
        "neglect",
        "2024-03-01",
        "education",
        "Bruise noticed on arm",
        [("school:pupil:S1", "subject")],
    ),
    (
        "ev-ae-1",
        "ae_attendance",
        "injury",
        False,
        None,
        "2024-03-10",
        "health",
        "Attended with wrist injury",
        [("health:patient:H1", "patient")],
    ),
    (
        "ev-police-1",
        "domestic_abuse",
        "police_occurrence",
        True,
        "domestic_abuse",
        "2019-05-05",
        "police",
        "DA incident at previous address",
        [("police:person:P3", "suspect")],
    ),
    (
        "ev-police-2",
        "domestic_abuse",
        "police_occurrence",
        True,
        "domestic_abuse",
        "2024-02-20",
        "police",
        "Neighbour reported shouting",
        [("police:person:P3", "suspect"), ("health:patient:H2", "victim")],
    ),
    (
        "ev-custody-1",
        "custody",
        "custody",
        False,
        None,
        "2020-01-01",
        "prisons",
        "Custody period",
        [("prison:prisoner:J1", "prisoner")],
    ),
]


@dataclass
class Tokens:
    investigator: str
    data_steward: str
    partner_system: str
    auditor: str
    admin: str

    def of(self, role: Role) -> str:
        return getattr(self, role.value)


def api_registry() -> QueryRegistry:
    """The product registry plus the tests' and this folder's test-only queries."""
    return with_test_queries("falkordb", HERE / "cypher")


async def populate(store: GraphStore) -> None:
    """Write the household graph through named queries."""
    await store.write_batches("source_records_upsert", RECORDS)
    await store.write_batches(
        "persons_resolve_upsert",
        [
            {
                "key": key,
                "person_id": pid,
                "display_name": name,
                "created_at": "2024-06-01T00:00:00+00:00",
                "probability": prob,
                "method": method,
                "status": status,
                "breakdown": "[]",
            }
            for key, pid, name, prob, method, status in RESOLVE
        ],
    )
    await store.write_batches(
        "person_relationships_upsert",
        [
            {
                "from_id": a,
                "to_id": b,
                "relationship": rel,
                "lives_with": lives,
                "from_date": start,
                "to_date": end,
                "sources": sources,
            }
            for a, b, rel, lives, start, end, sources in RELATED
        ],
    )
    event_rows, involvement_rows = [], []
    for eid, etype, cat, concern, ccat, day, agency, summary, involved in EVENTS:
        event_rows.append(
            {
                "event_id": eid,
                "type": etype,
                "category": cat,
                "is_concern": concern,
                "concern_category": ccat,
                "date": day,
                "agency": agency,
                "system": agency,
                "summary": summary,
            }
        )
        involvement_rows.extend({"key": k, "event_id": eid, "role": r} for k, r in involved)
    await store.write_batches("test_events_upsert", event_rows)
    await store.write_batches("test_involvements_upsert", involvement_rows)
    await store.execute("test_person_retire", survivor_id=CHILD, retired_id="per-child-old")


def make_client(app: Any) -> httpx.AsyncClient:
    """An HTTP client on any app."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


async def gql(
    http: httpx.AsyncClient,
    query: str,
    *,
    token: str | None,
    purpose: str | None = PURPOSE,
    variables: dict[str, Any] | None = None,
) -> httpx.Response:
    """POST a GraphQL operation."""
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if purpose is not None:
        headers["X-Purpose"] = purpose
    return await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
