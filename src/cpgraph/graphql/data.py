"""What the resolvers read: plain dataclasses, loaded in batches per request.

Every DataLoader here turns the keys asked for in one tick of the event loop
into a single named query, so the number of store round trips of a request
does not grow with the number of persons in its answer.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from strawberry.dataloader import DataLoader

from cpgraph.store import GraphStore
from cpgraph.vocabulary import INVERSE

IDENTIFIER_SCHEMES: tuple[tuple[str, str, str], ...] = (
    # (scheme, value property, validity property)
    ("NHS_NUMBER", "nhs_number", "nhs_number_valid"),
    ("UPN", "upn", "upn_valid"),
    ("PNC_ID", "pnc_id", "pnc_id_valid"),
    ("PRISON_NUMBER", "prison_number", "prison_number_valid"),
)


# Specific types that an inverse can only state generally (a child edge
# inverted says "parent", not "mother"): merged with their general form.
GENERAL: dict[str, str] = {"mother": "parent", "father": "parent"}

ADULT_AGE = 18


@dataclass(slots=True)
class RecordData:
    """A source record as recorded, with how it resolves."""

    props: dict[str, Any]
    person_id: str | None = None
    probability: float | None = None
    method: str | None = None
    status: str | None = None

    @property
    def key(self) -> str:
        return str(self.props.get("key", ""))


@dataclass(slots=True)
class PersonData:
    """A resolved person and the records that resolve to them."""

    person_id: str
    display_name: str | None
    created_at: str | None
    records: list[RecordData] = field(default_factory=list)

    def dates_of_birth(self) -> list[str]:
        return sorted({str(r.props["dob"]) for r in self.records if r.props.get("dob")})

    def best_dob(self) -> date | None:
        for value in self.dates_of_birth():
            parsed = parse_date(value)
            if parsed:
                return parsed
        return None


@dataclass(slots=True)
class RelationshipData:
    """A person-level relationship seen from `person_id`: `other_id` is their `type`."""

    person_id: str
    other_id: str
    type: str
    stated_type: str
    outgoing: bool
    lives_with: bool | None
    from_date: str | None
    to_date: str | None
    sources: list[str]

    def valid_on(self, day: date | None) -> bool:
        """True when the relationship held on `day` (always true for None)."""
        if day is None:
            return True
        start, end = parse_date(self.from_date), parse_date(self.to_date)
        return (start is None or start <= day) and (end is None or end >= day)


@dataclass(slots=True)
class EventData:
    """An event one of the person's records is involved in."""

    props: dict[str, Any]
    roles: list[str] = field(default_factory=list)
    record_keys: list[str] = field(default_factory=list)

    @property
    def event_id(self) -> str:
        return str(self.props.get("event_id", ""))

    @property
    def date(self) -> str:
        return str(self.props.get("date") or "")

    @property
    def sort_key(self) -> str:
        return f"{self.date}|{self.event_id}"


def parse_date(value: Any) -> date | None:
    """Parse the date part of an ISO date or datetime string; None if not one."""
    if isinstance(value, date):
        return value
    if not value or not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def age_on(dob: date | None, day: date) -> int | None:
    """Whole years between `dob` and `day`."""
    if dob is None:
        return None
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


# A flag's confidence (see cpgraph.flags.model) and the review-item statuses after a
# steward's decision that confirm or withdraw a POSSIBLE one.
CONFIRMED, POSSIBLE = "CONFIRMED", "POSSIBLE"
_CONFIRMING = frozenset({"linked"})
_WITHDRAWING = frozenset({"rejected", "closed"})


@dataclass(slots=True)
class FlagData:
    """A stored flag as the API reads it."""

    props: dict[str, Any]
    evidence: dict[str, Any] = field(default_factory=dict)
    candidate_statuses: list[str] = field(default_factory=list)

    @property
    def sort_key(self) -> str:
        return f"{self.props.get('code', '')}|{self.props.get('flag_id', '')}"

    @property
    def confidence(self) -> str | None:
        """The confidence now; None when a steward's decision withdrew the flag.

        A POSSIBLE flag rests on undecided review items: once a steward links one of
        them it is confirmed, once every one is rejected it no longer holds (the next
        flags run rewrites both accordingly).
        """
        if self.props.get("confidence") != POSSIBLE:
            return CONFIRMED
        statuses = set(self.candidate_statuses)
        if statuses & _CONFIRMING:
            return CONFIRMED
        if statuses and statuses <= _WITHDRAWING:
            return None
        return POSSIBLE


def flag_data(props: dict[str, Any], candidate_statuses: list[str] | None = None) -> FlagData:
    """Parse a stored Flag node (its evidence is a JSON string)."""
    raw = props.get("evidence")
    try:
        evidence = json.loads(raw) if isinstance(raw, str) and raw else {}
    except ValueError:
        evidence = {}
    return FlagData(
        props=props,
        evidence=evidence if isinstance(evidence, dict) else {},
        candidate_statuses=[str(s) for s in candidate_statuses or [] if s],
    )


# Review items that are still possible matches: undecided, or deferred by a steward.
POSSIBLE_STATUSES = ("open", "deferred")


@dataclass(slots=True)
class PossibleMatchData:
    """Another person linkage kept apart from this one but could not rule out.

    One per other person: the strongest review item between the two gives the
    probability, reason and weights; every item's records and agencies are kept.
    """

    person_id: str
    other_id: str
    candidate_id: str
    probability: float
    reason: str
    status: str
    breakdown: dict[str, Any]
    evidence: list[str] = field(default_factory=list)
    candidate_ids: list[str] = field(default_factory=list)
    record_keys: list[str] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)


def _breakdown(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value) if isinstance(value, str) and value else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


class Loaders:
    """The DataLoaders of one request (a fresh set per request: no cross-user cache)."""

    def __init__(self, store: GraphStore) -> None:
        """Create the loaders over a started store."""
        self.store = store
        self.person = DataLoader[str, PersonData | None](load_fn=self._load_persons)
        self.relationships = DataLoader[str, list[RelationshipData]](
            load_fn=self._load_relationships
        )
        self.events = DataLoader[str, list[EventData]](load_fn=self._load_events)
        self.record = DataLoader[str, RecordData | None](load_fn=self._load_records)
        self.flags = DataLoader[str, list[Any]](load_fn=self._load_flags)
        self.possible_matches = DataLoader[str, list[PossibleMatchData]](
            load_fn=self._load_possible_matches
        )

    async def _load_persons(self, ids: Sequence[str]) -> list[PersonData | None]:
        rows = await self.store.query("api_persons_profile", ids=list(ids))
        found: dict[str, PersonData] = {}
        seen: set[tuple[str, str]] = set()
        for row in rows:
            requested = row["requested_id"]
            person = found.get(requested)
            if person is None:
                person = found[requested] = PersonData(
                    person_id=row["person_id"],
                    display_name=row.get("display_name"),
                    created_at=row.get("created_at"),
                )
            record = row.get("record")
            if not record or row["person_id"] != person.person_id:
                continue
            key = (requested, str(record.get("key")))
            if key in seen:
                continue
            seen.add(key)
            person.records.append(
                RecordData(
                    props=record,
                    person_id=person.person_id,
                    probability=row.get("probability"),
                    method=row.get("method"),
                    status=row.get("status"),
                )
            )
        for person in found.values():
            person.records.sort(key=lambda r: r.key)
        return [found.get(i) for i in ids]

    async def _load_relationships(self, ids: Sequence[str]) -> list[list[RelationshipData]]:
        rows = await self.store.query("api_persons_relationships", ids=list(ids))
        merged: dict[str, dict[tuple[Any, ...], RelationshipData]] = defaultdict(dict)
        for row in rows:
            stated = str(row.get("relationship") or "other")
            outgoing = bool(row.get("outgoing"))
            rel_type = stated if outgoing else INVERSE.get(stated, f"inverse_of_{stated}")
            general = GENERAL.get(rel_type, rel_type)
            ident = (row["other_id"], general, row.get("from_date"), row.get("to_date"))
            current = merged[row["person_id"]].get(ident)
            sources = [str(s) for s in row.get("sources") or []]
            if current is None:
                merged[row["person_id"]][ident] = RelationshipData(
                    person_id=row["person_id"],
                    other_id=row["other_id"],
                    type=rel_type,
                    stated_type=stated,
                    outgoing=outgoing,
                    lives_with=row.get("lives_with"),
                    from_date=row.get("from_date"),
                    to_date=row.get("to_date"),
                    sources=sorted(set(sources)),
                )
            else:  # the same fact stated from both ends: one relationship, all sources
                current.sources = sorted(set(current.sources) | set(sources))
                if rel_type != general:  # keep the more specific wording
                    current.type, current.stated_type, current.outgoing = rel_type, stated, outgoing
                current.lives_with = bool(current.lives_with) or bool(row.get("lives_with"))
        out = []
        for i in ids:
            rels = sorted(
                merged.get(i, {}).values(),
                key=lambda r: (r.type, r.from_date or "", r.other_id),
            )
            out.append(rels)
        return out

    async def _load_events(self, ids: Sequence[str]) -> list[list[EventData]]:
        rows = await self.store.query("api_persons_events", ids=list(ids))
        by_person: dict[str, dict[str, EventData]] = defaultdict(dict)
        for row in rows:
            event = row["event"] or {}
            eid = str(event.get("event_id", ""))
            data = by_person[row["person_id"]].get(eid)
            if data is None:
                data = by_person[row["person_id"]][eid] = EventData(props=event)
            if row.get("role") and row["role"] not in data.roles:
                data.roles.append(row["role"])
            if row.get("record_key") and row["record_key"] not in data.record_keys:
                data.record_keys.append(row["record_key"])
        return [sorted(by_person.get(i, {}).values(), key=lambda e: e.sort_key) for i in ids]

    async def _load_flags(self, ids: Sequence[str]) -> list[list[Any]]:
        rows = await self.store.query("api_persons_flags", ids=list(ids))
        by_person: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            by_person[row["person_id"]].append(
                flag_data(row["flag"] or {}, row.get("candidate_statuses"))
            )
        return [sorted(by_person.get(i, []), key=lambda f: f.sort_key) for i in ids]

    async def _load_possible_matches(self, ids: Sequence[str]) -> list[list[PossibleMatchData]]:
        # the persons' own records (through the profile loader, shared with the rest of
        # the request), then the review items on those keys, then the other records and
        # the persons they resolve to now: three indexed look-ups, whatever the graph size
        persons = await self.person.load_many(list(ids))
        owner: dict[str, str] = {}
        own_agency: dict[str, str] = {}
        for pid, person in zip(ids, persons, strict=True):
            for record in person.records if person else []:
                owner[record.key] = pid
                own_agency[record.key] = str(record.props.get("agency") or "")
        rows = (
            await self.store.query(
                "api_review_items_by_keys", keys=sorted(owner), statuses=list(POSSIBLE_STATUSES)
            )
            if owner
            else []
        )
        other_keys = sorted({str(r["other_key"]) for r in rows})
        others = dict(zip(other_keys, await self.record.load_many(other_keys), strict=True))
        found: dict[tuple[str, str], PossibleMatchData] = {}
        strongest_first = sorted(
            rows, key=lambda r: -float((r["candidate"] or {}).get("probability") or 0)
        )
        for row in strongest_first:
            c = row["candidate"] or {}
            own_key, other_key = str(row["own_key"]), str(row["other_key"])
            other = others.get(other_key)
            pid = owner.get(own_key)
            if pid is None or other is None or not other.person_id or other.person_id == pid:
                continue  # the other record is gone, or already the same person
            ident = (pid, other.person_id)
            pm = found.get(ident)
            if pm is None:  # rows come strongest first: the first item speaks for the pair
                pm = found[ident] = PossibleMatchData(
                    person_id=pid,
                    other_id=other.person_id,
                    candidate_id=str(c.get("candidate_id", "")),
                    probability=float(c.get("probability") or 0.0),
                    reason=str(c.get("reason") or "uncertain"),
                    status=str(c.get("status") or "open"),
                    breakdown=_breakdown(c.get("breakdown")),
                )
            pm.candidate_ids = sorted({*pm.candidate_ids, str(c.get("candidate_id", ""))})
            pm.evidence = sorted({*pm.evidence, *(str(e) for e in c.get("evidence") or [])})
            pm.record_keys = sorted({*pm.record_keys, own_key, other_key})
            agencies = (own_agency.get(own_key), other.props.get("agency"))
            pm.agencies = sorted({*pm.agencies, *(str(a) for a in agencies if a)})
        by_person: dict[str, list[PossibleMatchData]] = defaultdict(list)
        for pm in found.values():
            by_person[pm.person_id].append(pm)
        return [
            sorted(by_person.get(i, []), key=lambda m: (-m.probability, m.other_id)) for i in ids
        ]

    async def _load_records(self, keys: Sequence[str]) -> list[RecordData | None]:
        rows = await self.store.query("api_records_by_key", keys=list(keys))
        found: dict[str, RecordData] = {}
        for row in rows:
            found[row["key"]] = RecordData(
                props=row["record"],
                person_id=row.get("person_id"),
                probability=row.get("probability"),
                method=row.get("method"),
                status=row.get("status"),
            )
        return [found.get(k) for k in keys]


def household_on(relationships: list[RelationshipData], day: date) -> list[RelationshipData]:
    """The relationships of people living with the person on `day` (one per person)."""
    members: dict[str, RelationshipData] = {}
    for rel in relationships:
        if rel.lives_with and rel.valid_on(day) and rel.other_id not in members:
            members[rel.other_id] = rel
    return list(members.values())
