"""What the flag engine reads and writes: plain dataclasses, no store.

The engine works on a `FlagInput` snapshot (persons' dates of birth, person-level
relationships, event involvements) and returns `Flag`s, each with a stable code,
a plain-English reason and its evidence (record keys, event ids, the path from
the child to the other people involved).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import date
from importlib import resources
from typing import Any

from cpgraph.vocabulary import INVERSE


def parse_day(value: Any) -> date | None:
    """The date part of an ISO date or datetime string (None when not one)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Relationship:
    """A person-level relationship as stored: `to_id` is `from_id`'s `relationship`."""

    from_id: str
    to_id: str
    relationship: str
    lives_with: bool | None = None
    from_date: str | None = None
    to_date: str | None = None
    sources: tuple[str, ...] = ()

    def type_seen_from(self, person_id: str) -> str:
        """What the other end of this edge is to `person_id`."""
        if person_id == self.from_id:
            return self.relationship
        return INVERSE.get(self.relationship, f"inverse_of_{self.relationship}")

    def other(self, person_id: str) -> str:
        """The person at the other end from `person_id`."""
        return self.to_id if person_id == self.from_id else self.from_id

    def valid_on(self, day: date) -> bool:
        """True when the relationship held on `day` (open ends hold)."""
        start, end = parse_day(self.from_date), parse_day(self.to_date)
        return (start is None or start <= day) and (end is None or end >= day)


@dataclass(frozen=True, slots=True)
class EventFact:
    """An event as the rules see it (no free text)."""

    event_id: str
    type: str | None = None
    category: str | None = None
    is_concern: bool = False
    concern_category: str | None = None
    date: str | None = None
    end_date: str | None = None
    agency: str | None = None
    system: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def day(self) -> date | None:
        return parse_day(self.date)

    @property
    def end_day(self) -> date | None:
        return parse_day(self.end_date)

    def snapshot(self) -> dict[str, Any]:
        """The event's shape as stored in a flag's evidence."""
        return {
            "event_id": self.event_id,
            "type": self.type,
            "category": self.category,
            "is_concern": self.is_concern,
            "concern_category": self.concern_category,
            "date": self.date,
            "end_date": self.end_date,
            "agency": self.agency,
            "system": self.system,
        }


@dataclass(frozen=True, slots=True)
class Involvement:
    """A person's record involved in an event, in a role."""

    person_id: str
    record_key: str
    role: str | None
    event_id: str
    child_contact_restriction: bool | None = None


# A flag resting on linked records, or on a possible match awaiting a steward.
CONFIRMED = "CONFIRMED"
POSSIBLE = "POSSIBLE"


@dataclass(frozen=True, slots=True)
class PossibleMatch:
    """Two persons linkage kept apart but could not rule out (an open review item).

    Attributes:
        person_id: one person.
        other_id: the person it may be.
        candidate_id: the review item a steward decides.
        probability: the model's match probability of the pair.
        reason: why linkage kept them apart (``uncertain``, ``different_addresses``...).
        evidence: what beyond a shared name and birth date supports the match
            (``alias``, ``identifier``, ``address``, ``relative``); empty for a common
            name alone.
    """

    person_id: str
    other_id: str
    candidate_id: str
    probability: float
    reason: str
    evidence: tuple[str, ...] = ()
    record_keys: tuple[str, ...] = ()  # the pair of records behind it


@dataclass(slots=True)
class FlagInput:
    """Everything the rules read, as of one reference date."""

    as_of: date
    dobs: dict[str, date | None]
    relationships: list[Relationship]
    involvements: list[Involvement]
    events: dict[str, EventFact]
    possible_matches: list[PossibleMatch] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a flag's evidence path, from one person to another."""

    from_id: str
    to_id: str
    kind: str  # RELATIONSHIP | SHARED_EVENT | POSSIBLE_MATCH
    relationship: str | None = None
    lives_with: bool | None = None
    from_date: str | None = None
    to_date: str | None = None
    sources: tuple[str, ...] = ()
    event_ids: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sources"] = list(self.sources)
        data["event_ids"] = list(self.event_ids)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hop:
        """Inverse of `as_dict`."""
        return cls(
            from_id=str(data["from_id"]),
            to_id=str(data["to_id"]),
            kind=str(data.get("kind") or "RELATIONSHIP"),
            relationship=data.get("relationship"),
            lives_with=data.get("lives_with"),
            from_date=data.get("from_date"),
            to_date=data.get("to_date"),
            sources=tuple(data.get("sources") or ()),
            event_ids=tuple(data.get("event_ids") or ()),
        )


@dataclass(slots=True)
class Flag:
    """A rule that fired for a person, with its reason and evidence."""

    code: str
    title: str
    person_id: str
    reason: str
    record_keys: list[str]
    event_ids: list[str]
    person_ids: list[str]  # the other people the evidence involves
    path: list[Hop]
    events: list[dict[str, Any]]
    as_of: str
    confidence: str = CONFIRMED
    candidate_ids: list[str] = field(default_factory=list)  # POSSIBLE: the review items

    @property
    def flag_id(self) -> str:
        """Stable id: the same rule, person, evidence and confidence give the same id."""
        basis = "|".join(
            [self.code, self.person_id, *sorted(self.person_ids), *sorted(self.event_ids)]
            + ([self.confidence] if self.confidence != CONFIRMED else [])
        )
        digest = hashlib.sha1(basis.encode("utf-8"), usedforsecurity=False).hexdigest()[:12]
        return f"flag:{self.code}:{self.person_id}:{digest}"

    def evidence_json(self) -> str:
        """The evidence as stored on the Flag node."""
        return json.dumps(
            {
                "record_keys": self.record_keys,
                "event_ids": self.event_ids,
                "person_ids": self.person_ids,
                "path": [h.as_dict() for h in self.path],
                "events": self.events,
                "confidence": self.confidence,
                "candidate_ids": self.candidate_ids,
            },
            sort_keys=True,
        )


@dataclass(frozen=True, slots=True)
class Rules:
    """The rule table: each rule's code, title and parameters, plus shared vocabularies."""

    common: dict[str, Any]
    rules: dict[str, dict[str, Any]]

    def param(self, code: str, name: str) -> Any:
        """A rule parameter (KeyError when the table lacks it)."""
        return self.rules[code][name]

    def title(self, code: str) -> str:
        return str(self.rules[code]["title"])

    @property
    def adult_age(self) -> int:
        """The age from which a person is an adult (default 18)."""
        return int(self.common.get("adult_age", 18))

    @property
    def release_days(self) -> int:
        """How soon a release counts as due (default 90 days)."""
        return int(self.rules.get("RELEASE_DUE_SOON", {}).get("release_days", 90))

    @classmethod
    def load(cls, text: str | None = None) -> Rules:
        """Parse the rule table (default: the packaged `rules.toml`)."""
        if text is None:
            text = resources.files("cpgraph.flags").joinpath("rules.toml").read_text("utf-8")
        data = tomllib.loads(text)
        rules = {str(r["code"]): dict(r) for r in data.get("rules", [])}
        return cls(common=dict(data.get("common", {})), rules=rules)
