"""Steward operations: decide a candidate, merge, split, unlink.

Every operation (1) checks the actor's role and reason, (2) records an append-only
`Decision` (for a candidate: claimed under optimistic concurrency, version checked
and bumped in the same statement), (3) links it to the decisions it reverses,
(4) applies it to the graph at once — records move, the lowest id survives a merge
(the retired id answers through ``RETIRED_INTO``), the larger part keeps the id on
a split — and (5) appends an audit entry naming the decision and its content hash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cpgraph.errors import ConstraintViolationError
from cpgraph.security.audit import AuditLog
from cpgraph.security.roles import Role
from cpgraph.steward.decisions import (
    DEFER,
    LINK,
    NO_LINK,
    Actor,
    DecisionOutcome,
    StoredDecision,
    canonical_pair,
    content_hash,
    decision_content,
    effective_pairs,
    load_decisions,
    new_decision_id,
)
from cpgraph.steward.errors import (
    IdentifierConflictError,
    StewardBadInputError,
    StewardConflictError,
    StewardForbiddenError,
    StewardNotFoundError,
)
from cpgraph.steward.ids import counter_of, format_id
from cpgraph.store import GraphStore

# Only data stewards decide who is whom (least privilege: admins manage users only).
STEWARD_ROLES = frozenset({Role.DATA_STEWARD})
MIN_REASON, MAX_REASON = 3, 500
MAX_MERGE_PERSONS = 20
MAX_KEYS = 500
MAX_PAIRS = 20_000
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# (kind shown in errors, value column, validity column, valid when the source says
# nothing): the identifiers linkage never joins across (spec `cannot_link`). Prison
# numbers carry no check digit, so one is valid unless a source marked it invalid.
IDENTIFIER_KINDS: tuple[tuple[str, str, str, bool], ...] = (
    ("NHS_NUMBER", "nhs_number", "nhs_number_valid", False),
    ("UPN", "upn", "upn_valid", False),
    ("PNC_ID", "pnc_id", "pnc_id_valid", False),
    ("PRISON_NUMBER", "prison_number", "prison_number_valid", True),
)
IDENTIFIER_OVERRIDE = "identifier_conflict"


def identifier_conflicts(rows: Iterable[dict[str, Any]]) -> list[str]:
    """The identifier kinds on which two of the persons hold different valid values.

    Args:
        rows: `steward_person_identifiers` rows (a person id and one record's identifiers).

    Returns:
        Kinds (e.g. ``NHS_NUMBER``) where some person's valid value differs from another
        person's; never the values.
    """
    held: dict[str, dict[str, set[str]]] = {kind: {} for kind, *_ in IDENTIFIER_KINDS}
    for row in rows:
        for kind, col, valid_col, default_valid in IDENTIFIER_KINDS:
            value = row.get(col)
            valid = row.get(valid_col)
            if value is None or not (default_valid if valid is None else bool(valid)):
                continue
            norm = "".join(str(value).split()).upper()
            if norm:
                held[kind].setdefault(str(row["person_id"]), set()).add(norm)
    out = []
    for kind, by_person in held.items():
        persons = list(by_person.values())
        if any(
            a != b
            for i, va in enumerate(persons)
            for vb in persons[i + 1 :]
            for a in va
            for b in vb
        ):
            out.append(kind)
    return out


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def id_order(pid: str) -> tuple[int, str]:
    """Sort key of person ids: the 'lowest' id (oldest counter) first."""
    return (counter_of(pid), pid)


def check_reason(reason: str) -> str:
    """Validate and normalise a decision's reason.

    Raises:
        StewardBadInputError: too short, too long or with control characters.
    """
    text = " ".join((reason or "").split())  # newlines and tabs become spaces
    if _CONTROL_RE.search(text):
        raise StewardBadInputError("reason must not contain control characters")
    if not MIN_REASON <= len(text) <= MAX_REASON:
        raise StewardBadInputError(f"reason must be {MIN_REASON}-{MAX_REASON} characters")
    return text


@dataclass(slots=True)
class _Plan:
    """What a decision will do to the graph."""

    kind: str
    decision: str
    pairs: list[tuple[str, str, str]]
    before: dict[str, list[str]]
    after: dict[str, list[str]]
    moves: dict[str, str]  # record key -> person id
    retire: list[str]  # ids retired into `survivor`
    survivor: str | None
    revive: list[str]
    new_ids: list[str]
    display: dict[str, str]  # new person id -> display name
    candidate_id: str | None = None


def _pair_plan(decision: str, pairs: list[tuple[str, str, str]]) -> _Plan:
    """A candidate decision that changes no person now (only a constraint)."""
    return _Plan("match", decision, pairs, {}, {}, {}, [], None, [], [], {})


class StewardService:
    """Steward decisions over a started graph store."""

    def __init__(self, store: GraphStore, audit: AuditLog | None = None) -> None:
        """Bind to a store; `audit` defaults to a fresh `AuditLog` on it.

        Share the process's `AuditLog` when there is one (the API's), so appends
        are serialised by its lock.
        """
        self.store = store
        self.audit = audit or AuditLog(store)

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _check_actor(actor: Actor) -> None:
        if actor.role not in STEWARD_ROLES:
            raise StewardForbiddenError(
                f"role {actor.role.value} may not decide matches (data_steward only)"
            )

    async def _persons(self, ids: Sequence[str]) -> dict[str, list[str]]:
        rows = await self.store.query("steward_person_records", ids=list(ids))
        return {r["person_id"]: sorted(k for k in r["keys"] if k) for r in rows}

    async def _check_identifiers(
        self, ids: Sequence[str], *, override: bool, what: str
    ) -> str | None:
        """Refuse joining persons that hold different valid identifiers of one kind.

        One indexed, batched read (`steward_person_identifiers`).

        Returns:
            The override to record (``identifier_conflict:KIND,...``) when the steward
            overrode a conflict, else None.

        Raises:
            IdentifierConflictError: a conflict and no override.
        """
        rows = await self.store.query("steward_person_identifiers", ids=list(ids))
        kinds = identifier_conflicts(rows)
        if not kinds:
            return None
        if not override:
            raise IdentifierConflictError(kinds, what)
        return f"{IDENTIFIER_OVERRIDE}:{','.join(kinds)}"

    async def _records(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        rows = await self.store.query("steward_records_persons", keys=list(keys))
        return {r["key"]: r for r in rows}

    async def _new_person_id(self, at: str, name: str) -> str:
        floor_rows = await self.store.query("steward_person_id_floor")
        floor = (floor_rows[0]["floor"] if floor_rows else None) or "P"
        rows = await self.store.query("steward_max_person_id", floor=floor)
        top = rows[0]["max_id"] if rows and rows[0]["max_id"] else None
        counter = counter_of(top) if top else 0
        for _ in range(20):
            counter += 1
            pid = format_id(counter)
            try:
                made = await self.store.query("person_create", person_id=pid, created_at=at)
            except ConstraintViolationError:
                made = []
            if made:
                return pid
        raise StewardConflictError("could not reserve a new person id; retry")

    async def _revivable(self, person_id: str, leaving: set[str]) -> str | None:
        """A retired id merged into `person_id` whose members were mostly `leaving`."""
        rows = await self.store.query("steward_retired_into", person_id=person_id)
        retired = {r["person_id"] for r in rows}
        if not retired:
            return None
        best: tuple[int, str] | None = None
        for d in await load_decisions(self.store):
            for pid, keys in (d.before or {}).items():
                if pid in retired:
                    overlap = len(set(keys) & leaving)
                    # most of the part was that id's, and most of that id's records leave
                    majority = overlap * 2 > len(leaving) and overlap * 2 > len(keys)
                    if majority and (best is None or overlap > best[0]):
                        best = (overlap, pid)
        return best[1] if best else None

    def _supersedes(
        self, decisions: list[StoredDecision], pairs: Iterable[tuple[str, str, str]]
    ) -> set[str]:
        eff = effective_pairs(decisions)
        out = set()
        for a, b, verdict in pairs:
            prev = eff.get(canonical_pair(a, b))
            if prev is not None and prev[0] != verdict:
                out.add(prev[1])
        return out

    # ----------------------------------------------------------------- recording
    async def _record(
        self,
        actor: Actor,
        plan: _Plan,
        reason: str,
        *,
        extra_supersedes: Iterable[str] = (),
        expected_version: int | None = None,
        purpose: str | None = None,
        override: str | None = None,
    ) -> DecisionOutcome:
        decisions = await load_decisions(self.store)
        supersedes = self._supersedes(decisions, plan.pairs) | set(extra_supersedes)
        at = _now()
        decision_id = new_decision_id()
        person_ids = sorted(set(plan.before) | set(plan.after), key=id_order)
        record_keys = sorted({k for a, b, _ in plan.pairs for k in (a, b)} | set(plan.moves))
        # set only when given, so decisions without them hash as before
        extra = {k: v for k, v in (("override", override), ("purpose", purpose)) if v}
        content = decision_content(
            **extra,
            decision_id=decision_id,
            kind=plan.kind,
            decision=plan.decision,
            user=actor.name,
            role=actor.role.value,
            at=at,
            reason=reason,
            candidate_id=plan.candidate_id,
            person_ids=person_ids,
            record_keys=record_keys,
            pairs=plan.pairs,
            before=plan.before,
            after=plan.after,
        )
        digest = content_hash(content)
        props = {
            "decision_id": decision_id,
            "user": actor.name,
            "role": actor.role.value,
            "at": at,
            "reason": reason,
            "candidate_id": plan.candidate_id,
            "person_ids": person_ids,
            "record_keys": record_keys,
            "pairs": json.dumps([list(p) for p in plan.pairs]),
            "before": json.dumps(plan.before, sort_keys=True),
            "after": json.dumps(plan.after, sort_keys=True),
            "content_hash": digest,
            "override": override,
            "purpose": purpose,
        }
        version = None
        if plan.kind == "match":
            assert expected_version is not None
            status = {LINK: "linked", NO_LINK: "rejected", DEFER: "deferred"}[plan.decision]
            rows = await self.store.query(
                "steward_candidate_claim",
                candidate_id=plan.candidate_id,
                expected_version=expected_version,
                status=status,
                decision=plan.decision,
                user=props["user"],
                role=props["role"],
                at=at,
                reason=reason,
                decision_id=decision_id,
                person_ids=person_ids,
                record_keys=record_keys,
                pairs=props["pairs"],
                before=props["before"],
                after=props["after"],
                content_hash=digest,
                override=override,
                purpose=purpose,
            )
            if not rows:
                raise StewardConflictError(
                    f"candidate {plan.candidate_id} was decided by someone else "
                    f"(expected version {expected_version}); reload it and decide again"
                )
            version = int(rows[0]["version"])
        else:
            await self.store.query(
                "steward_decision_create",
                decision_id=decision_id,
                kind=plan.kind,
                decision=plan.decision,
                user=props["user"],
                role=props["role"],
                at=at,
                reason=reason,
                candidate_id=plan.candidate_id,
                person_ids=person_ids,
                record_keys=record_keys,
                pairs=props["pairs"],
                before=props["before"],
                after=props["after"],
                content_hash=digest,
                override=override,
                purpose=purpose,
            )
        if supersedes:
            await self.store.write_batches(
                "steward_decision_supersede",
                [{"decision_id": decision_id, "supersedes": s} for s in sorted(supersedes)],
            )
        await self._apply(plan, decision_id, at)
        entry = await self.audit.append(
            user=actor.name,
            role=actor.role.value,
            action=(
                f"steward:{plan.kind}:{plan.decision} decision={decision_id} "
                f"sha256={digest}"
                + (f" supersedes={','.join(sorted(supersedes))}" if supersedes else "")
                + (f" override={override}" if override else "")
                # the steward's reason (it was the purpose before mutations had one)
                + f" reason={json.dumps(reason, ensure_ascii=False)}"
            ),
            persons=person_ids,
            records=record_keys,
            fields=[],
            purpose=purpose or f"{decision_id}; {reason}",
        )
        await self.store.query("steward_decision_audited", decision_id=decision_id, seq=entry.seq)
        return DecisionOutcome(
            decision_id=decision_id,
            kind=plan.kind,
            decision=plan.decision,
            at=at,
            user=actor.name,
            before=plan.before,
            after=plan.after,
            retired=list(plan.retire),
            revived=list(plan.revive),
            supersedes=sorted(supersedes),
            audit_seq=entry.seq,
            candidate_version=version,
        )

    async def _apply(self, plan: _Plan, decision_id: str, at: str) -> None:
        if plan.moves:
            rows = [
                {
                    "key": key,
                    "person_id": pid,
                    "decision_id": decision_id,
                    "at": at,
                    "display_name": plan.display.get(pid, ""),
                }
                for key, pid in sorted(plan.moves.items())
            ]
            await self.store.write_batches("steward_records_move", rows)
        if plan.revive:
            await self.store.write_batches(
                "linkage_persons_unretire", [{"person_id": p} for p in plan.revive]
            )
        if plan.retire:
            await self.store.write_batches(
                "linkage_persons_retire",
                [
                    {"person_id": p, "into": plan.survivor, "at": at, "reason": "steward merge"}
                    for p in plan.retire
                ],
            )
        if plan.moves:
            await self._settle(sorted(plan.moves))

    async def _settle(self, moved: list[str]) -> None:
        """Queue items on moved records follow them: one whose two records now resolve to
        one person leaves the queue (settled), one apart again comes back."""
        rows = await self.store.query("steward_queue_touching", keys=moved)
        ids = sorted({r["candidate_id"] for r in rows})
        if ids:
            await self.store.query("steward_queue_settle", ids=ids)

    # ----------------------------------------------------------------- planning
    def _merge_plan(self, kind: str, decision: str, members: dict[str, list[str]]) -> _Plan:
        ids = sorted(members, key=id_order)
        survivor, others = ids[0], ids[1:]
        all_keys = sorted(k for pid in ids for k in members[pid])
        if not all_keys:
            raise StewardBadInputError("the persons have no records to merge")
        # every cross-person pair: linkage's cohesion check then never splits the merge
        # (each pair carries the steward weight), and a later split supersedes exactly
        # the pairs it separates
        pairs = sorted(
            (*canonical_pair(a, b), LINK)
            for x, pa in enumerate(ids)
            for pb in ids[x + 1 :]
            for a in members[pa]
            for b in members[pb]
        )
        moves = {k: survivor for pid in others for k in members[pid]}
        return _Plan(
            kind=kind,
            decision=decision,
            pairs=pairs,
            before={pid: members[pid] for pid in ids},
            after={survivor: all_keys},
            moves=moves,
            retire=others,
            survivor=survivor,
            revive=[],
            new_ids=[],
            display={},
        )

    async def _split_plan(
        self, kind: str, person_id: str, members: list[str], part: set[str]
    ) -> _Plan:
        rest = sorted(set(members) - part)
        part_l = sorted(part)
        # the larger part keeps the id (a tie: the part that stays, not the one named)
        keep_rest = len(rest) >= len(part_l)
        stay, leave = (rest, part_l) if keep_rest else (part_l, rest)
        pairs = [(*canonical_pair(a, b), NO_LINK) for a in part_l for b in rest]
        revived = await self._revivable(person_id, set(leave))
        display: dict[str, str] = {}
        at = _now()
        if revived:
            new_id, new_ids = revived, []
        else:
            recs = await self._records(leave[:1])
            r = recs.get(leave[0], {})
            name = " ".join(x for x in (r.get("forename"), r.get("surname")) if x)
            new_id = await self._new_person_id(at, name)
            new_ids = [new_id]
            display[new_id] = name
        return _Plan(
            kind=kind,
            decision=NO_LINK,
            pairs=pairs,
            before={person_id: sorted(members)},
            after={person_id: stay, new_id: leave},
            moves=dict.fromkeys(leave, new_id),
            retire=[],
            survivor=None,
            revive=[revived] if revived else [],
            new_ids=new_ids,
            display=display,
        )

    # ----------------------------------------------------------------- operations
    async def candidate(self, candidate_id: str) -> dict[str, Any]:
        """One candidate row (`steward_candidate_get`), or raise NOT_FOUND."""
        rows = await self.store.query("steward_candidate_get", candidate_id=candidate_id)
        if not rows:
            raise StewardNotFoundError("no review candidate with that id")
        return rows[0]

    async def decide_match(
        self,
        actor: Actor,
        candidate_id: str,
        decision: str,
        reason: str,
        *,
        expected_version: int | None = None,
        purpose: str | None = None,
        override_identifier_conflict: bool = False,
    ) -> DecisionOutcome:
        """Decide a review candidate: LINK, NO_LINK or DEFER.

        Args:
            actor: who decides (a data_steward).
            candidate_id: the `ReviewCandidate`.
            decision: ``LINK`` (same person: the two persons merge now), ``NO_LINK``
                (never the same person: split now if they are one) or ``DEFER``.
            reason: why (3-500 characters).
            expected_version: the candidate version the steward saw. Without it an
                open candidate is decided at its current version; a candidate already
                decided needs it (a reversal must be deliberate).
            purpose: the stated purpose (``X-Purpose``), recorded in the decision and
                the audit entry.
            override_identifier_conflict: LINK two persons even though they hold
                different valid identifiers of one kind (recorded with the reason).

        Raises:
            StewardConflictError: someone decided the candidate first.
            IdentifierConflictError: a LINK would join different valid identifiers of
                one kind, without the override.
        """
        self._check_actor(actor)
        reason = check_reason(reason)
        decision = str(decision).upper()
        if decision not in (LINK, NO_LINK, DEFER):
            raise StewardBadInputError("decision must be LINK, NO_LINK or DEFER")
        row = await self.candidate(candidate_id)
        cand = row["candidate"]
        version = int(cand.get("version") or 0)
        status = cand.get("status") or "open"
        if expected_version is None:
            if status not in ("open", "closed", "settled", "deferred"):
                raise StewardConflictError(
                    f"candidate {candidate_id} is already decided (version {version}); "
                    "pass expectedVersion to reverse the decision"
                )
            expected_version = version
        elif expected_version != version:
            raise StewardConflictError(
                f"candidate {candidate_id} is at version {version}, not {expected_version}; "
                "reload it and decide again"
            )
        key_a, key_b = str(cand["key_a"]), str(cand["key_b"])
        pa, pb = row.get("person_a"), row.get("person_b")
        previous = [str(cand["decision_id"])] if cand.get("decision_id") else []
        override: str | None = None
        if decision == DEFER:
            plan = _pair_plan(DEFER, [])
        elif decision == LINK:
            if pa and pb and pa != pb:
                override = await self._check_identifiers(
                    [pa, pb], override=override_identifier_conflict, what="link"
                )
                plan = self._merge_plan("match", LINK, await self._persons([pa, pb]))
            else:
                plan = _pair_plan(LINK, [(*canonical_pair(key_a, key_b), LINK)])
        else:
            if pa and pa == pb:
                members = (await self._persons([pa]))[pa]
                part = await self._part_to_split(previous, key_b, members)
                plan = await self._split_plan("match", pa, members, part or {key_b})
                if not part:  # no merge to undo: rule on the pair only, move key_b out now
                    plan.pairs = [(*canonical_pair(key_a, key_b), NO_LINK)]
            else:
                plan = _pair_plan(NO_LINK, [(*canonical_pair(key_a, key_b), NO_LINK)])
        plan.candidate_id = candidate_id
        return await self._record(
            actor,
            plan,
            reason,
            extra_supersedes=previous,
            expected_version=expected_version,
            purpose=purpose,
            override=override,
        )

    async def _part_to_split(self, previous: list[str], key_b: str, members: list[str]) -> set[str]:
        """Records that leave with `key_b` when a LINK on a candidate is reversed: the
        person `key_b` was in before that merge (empty when there was no such merge)."""
        if previous:
            for d in await load_decisions(self.store):
                if d.decision_id in previous and d.decision == LINK:
                    for keys in d.before.values():
                        if key_b in keys:
                            part = set(keys) & set(members)
                            if part and part != set(members):
                                return part
        return set()

    async def merge_persons(
        self,
        actor: Actor,
        ids: Sequence[str],
        reason: str,
        *,
        purpose: str | None = None,
        override_identifier_conflict: bool = False,
    ) -> DecisionOutcome:
        """Merge persons into the one with the lowest id; the others retire into it.

        Args:
            actor: who decides (a data_steward).
            ids: 2-20 live person ids.
            reason: why (3-500 characters).
            purpose: the stated purpose (``X-Purpose``), recorded in the decision and
                the audit entry.
            override_identifier_conflict: merge even though the persons hold different
                valid identifiers of one kind (recorded with the reason).

        Raises:
            StewardBadInputError: fewer than two distinct ids, or too many.
            StewardNotFoundError: an id is not a live person.
            IdentifierConflictError: different valid identifiers of one kind, without
                the override.
        """
        self._check_actor(actor)
        reason = check_reason(reason)
        wanted = sorted(set(ids), key=id_order)
        if not 2 <= len(wanted) <= MAX_MERGE_PERSONS:
            raise StewardBadInputError(f"give 2-{MAX_MERGE_PERSONS} distinct person ids")
        members = await self._persons(wanted)
        missing = [p for p in wanted if p not in members]
        if missing:
            raise StewardNotFoundError(f"{len(missing)} of the ids is not a live person")
        sizes = sorted(len(v) for v in members.values())
        if sum(sizes) > MAX_KEYS or sum(sizes) ** 2 - sum(x * x for x in sizes) > 2 * MAX_PAIRS:
            raise StewardBadInputError(f"a merge may join at most {MAX_KEYS} records")
        override = await self._check_identifiers(
            wanted, override=override_identifier_conflict, what="merge"
        )
        return await self._record(
            actor,
            self._merge_plan("merge", LINK, members),
            reason,
            purpose=purpose,
            override=override,
        )

    async def split_person(
        self,
        actor: Actor,
        person_id: str,
        record_keys: Sequence[str],
        reason: str,
        *,
        purpose: str | None = None,
    ) -> DecisionOutcome:
        """Split `record_keys` off a person; the larger part keeps the id.

        Raises:
            StewardBadInputError: the keys are not a non-empty proper subset of the
                person's records.
            StewardNotFoundError: not a live person.
        """
        self._check_actor(actor)
        reason = check_reason(reason)
        members = (await self._persons([person_id])).get(person_id)
        if members is None:
            raise StewardNotFoundError("no live person with that id")
        part = set(record_keys)
        if not part or len(part) > MAX_KEYS or not part < set(members):
            raise StewardBadInputError(
                "recordKeys must be some, but not all, of the person's records"
            )
        plan = await self._split_plan("split", person_id, members, part)
        return await self._record(actor, plan, reason, purpose=purpose)

    async def unlink_record(
        self, actor: Actor, record_key: str, reason: str, *, purpose: str | None = None
    ) -> DecisionOutcome:
        """Take one record out of its person: it becomes a person of its own.

        Raises:
            StewardNotFoundError: no such record, or it resolves to no person.
            StewardBadInputError: it is the person's only record.
        """
        self._check_actor(actor)
        reason = check_reason(reason)
        rec = (await self._records([record_key])).get(record_key)
        if rec is None or not rec.get("person_id"):
            raise StewardNotFoundError("no linked source record with that key")
        pid = rec["person_id"]
        members = (await self._persons([pid])).get(pid, [])
        if len(members) < 2:
            raise StewardBadInputError("the record is its person's only record")
        plan = await self._split_plan("unlink", pid, members, {record_key})
        return await self._record(actor, plan, reason, purpose=purpose)
