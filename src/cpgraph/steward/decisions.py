"""Steward decisions as data: identity, content hash, and the constraints they imply.

A decision lists the record pairs it rules on (``[key_a, key_b, 'LINK' | 'NO_LINK']``).
For every pair the latest decision wins (ids are time-ordered), so a later decision
reverses an earlier one without editing it. ``DEFER`` rules on nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cpgraph.security.roles import Role
from cpgraph.store import GraphStore

LINK, NO_LINK, DEFER = "LINK", "NO_LINK", "DEFER"
VERDICTS = (LINK, NO_LINK)
_PAGE = 2000

Pair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who decides: a user name and role (from a bearer token or the users store)."""

    name: str
    role: Role


@dataclass(slots=True)
class StoredDecision:
    """A `Decision` node as read back."""

    decision_id: str
    kind: str
    decision: str
    user: str
    role: str
    at: str
    reason: str
    candidate_id: str | None
    person_ids: list[str]
    record_keys: list[str]
    pairs: list[tuple[str, str, str]]
    before: dict[str, Any]
    after: dict[str, Any]
    content_hash: str
    audit_seq: int | None = None
    supersedes: list[str] = field(default_factory=list)
    override: str | None = None  # e.g. "identifier_conflict:NHS_NUMBER" (a steward's override)
    purpose: str | None = None  # the X-Purpose the decision was taken under

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoredDecision:
        """Build from a `steward_decisions_page` row."""
        d = row["decision"]
        return cls(
            decision_id=str(d["decision_id"]),
            kind=str(d.get("kind", "")),
            decision=str(d.get("decision", "")),
            user=str(d.get("user", "")),
            role=str(d.get("role", "")),
            at=str(d.get("at", "")),
            reason=str(d.get("reason", "")),
            candidate_id=d.get("candidate_id") or None,
            person_ids=[str(x) for x in d.get("person_ids") or []],
            record_keys=[str(x) for x in d.get("record_keys") or []],
            pairs=[(str(a), str(b), str(v)) for a, b, v in json.loads(d.get("pairs") or "[]")],
            before=json.loads(d.get("before") or "{}"),
            after=json.loads(d.get("after") or "{}"),
            content_hash=str(d.get("content_hash", "")),
            audit_seq=row.get("audit_seq"),
            supersedes=sorted(str(x) for x in row.get("supersedes") or [] if x),
            override=d.get("override") or None,
            purpose=d.get("purpose") or None,
        )

    def content(self) -> dict[str, Any]:
        """The hashed content (what `content_hash` covers).

        `override` and `purpose` are part of it only when set, so decisions recorded
        before they existed hash as they did.
        """
        extra = {k: v for k, v in (("override", self.override), ("purpose", self.purpose)) if v}
        return decision_content(
            **extra,
            decision_id=self.decision_id,
            kind=self.kind,
            decision=self.decision,
            user=self.user,
            role=self.role,
            at=self.at,
            reason=self.reason,
            candidate_id=self.candidate_id,
            person_ids=self.person_ids,
            record_keys=self.record_keys,
            pairs=self.pairs,
            before=self.before,
            after=self.after,
        )


@dataclass(slots=True)
class DecisionOutcome:
    """What a decision did (returned by every steward operation).

    Attributes:
        decision_id: the new `Decision` node.
        kind: ``match``, ``merge``, ``split`` or ``unlink``.
        decision: ``LINK``, ``NO_LINK`` or ``DEFER``.
        at: when (ISO, UTC).
        user: who.
        before: ``{person_id: [record keys]}`` of the persons touched, before.
        after: the same, after.
        retired: person ids retired into a survivor by this decision.
        revived: retired person ids brought back by this decision (split).
        supersedes: earlier decisions this one reverses.
        audit_seq: the audit entry recording it.
        candidate_version: the candidate's version after a `decide_match`.
    """

    decision_id: str
    kind: str
    decision: str
    at: str
    user: str
    before: dict[str, list[str]]
    after: dict[str, list[str]]
    retired: list[str] = field(default_factory=list)
    revived: list[str] = field(default_factory=list)
    supersedes: list[str] = field(default_factory=list)
    audit_seq: int | None = None
    candidate_version: int | None = None


def new_decision_id() -> str:
    """A unique, time-ordered decision id (``d`` + nanoseconds + random suffix)."""
    return f"d{time.time_ns():020d}{secrets.token_hex(4)}"


def canonical_pair(a: str, b: str) -> Pair:
    """The pair in key order."""
    return (a, b) if a <= b else (b, a)


def decision_content(**fields: Any) -> dict[str, Any]:
    """The canonical content of a decision (JSON-ready, pairs as lists)."""
    out = dict(fields)
    out["person_ids"] = list(out["person_ids"])
    out["record_keys"] = list(out["record_keys"])
    out["pairs"] = [list(p) for p in out["pairs"]]
    return out


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of a decision's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def load_decisions(store: GraphStore) -> list[StoredDecision]:
    """Every decision, oldest first."""
    out: list[StoredDecision] = []
    after = ""
    while True:
        rows = await store.query("steward_decisions_page", after=after, limit=_PAGE)
        if not rows:
            return out
        out.extend(StoredDecision.from_row(r) for r in rows)
        after = out[-1].decision_id


def effective_pairs(decisions: Iterable[StoredDecision]) -> dict[Pair, tuple[str, str]]:
    """Pair → (verdict, deciding decision id): the latest decision on each pair wins."""
    eff: dict[Pair, tuple[str, str]] = {}
    for d in sorted(decisions, key=lambda x: x.decision_id):
        for a, b, verdict in d.pairs:
            if verdict in VERDICTS and a != b:
                eff[canonical_pair(a, b)] = (verdict, d.decision_id)
    return eff


async def load_constraints(store: GraphStore) -> list[tuple[str, str, str]]:
    """The steward constraints linkage must respect: ``(key_a, key_b, LINK|NO_LINK)``."""
    eff = effective_pairs(await load_decisions(store))
    return [(a, b, v) for (a, b), (v, _) in sorted(eff.items())]
