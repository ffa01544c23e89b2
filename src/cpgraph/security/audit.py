"""The append-only, hash-chained audit log, stored in the graph as `AuditEntry` nodes.

Each entry carries `seq` (1, 2, 3, ... with no gaps), the SHA-256 `hash` of its
own content and the `prev_hash` of the entry before it (64 zeros for the
first). Changing, removing or inserting any entry breaks the chain from that
point on, which `verify_chain` reports.

Sequence numbers are safe under concurrency: within a process an
`asyncio.Lock` serialises appends; across processes the append query only
creates the entry when its `seq` is free (backed by a uniqueness constraint),
and a writer that loses the race re-reads the head and retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cpgraph.errors import ConstraintViolationError, StoreError
from cpgraph.security.errors import AuditUnavailableError
from cpgraph.store import GraphStore

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
_MAX_ATTEMPTS = 8
_PAGE = 1000


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit entry: who (user, role), when (at), what (action, persons,
    records, fields), why (purpose), chained by prev_hash/hash."""

    seq: int
    at: str
    user: str
    role: str
    action: str
    persons: tuple[str, ...]
    records: tuple[str, ...]
    fields: tuple[str, ...]
    purpose: str | None
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AuditRecord:
        """Build from the stored node's properties."""
        return cls(
            seq=int(row["seq"]),
            at=str(row.get("at", "")),
            user=str(row.get("user", "")),
            role=str(row.get("role", "")),
            action=str(row.get("action", "")),
            persons=tuple(row.get("persons") or ()),
            records=tuple(row.get("records") or ()),
            fields=tuple(row.get("fields") or ()),
            purpose=row.get("purpose"),
            prev_hash=str(row.get("prev_hash", "")),
            hash=str(row.get("hash", "")),
        )


def entry_hash(
    *,
    seq: int,
    at: str,
    user: str,
    role: str,
    action: str,
    persons: Sequence[str],
    records: Sequence[str],
    fields: Sequence[str],
    purpose: str | None,
    prev_hash: str,
) -> str:
    """Return the SHA-256 (hex) of an entry's canonical JSON form."""
    body = {
        "seq": seq,
        "at": at,
        "user": user,
        "role": role,
        "action": action,
        "persons": list(persons),
        "records": list(records),
        "fields": list(fields),
        "purpose": purpose,
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AuditLog:
    """Appends entries to the chain. Share one instance per process and store."""

    def __init__(self, store: GraphStore) -> None:
        """Create the log over a started store."""
        self.store = store
        self._lock = asyncio.Lock()
        self._head: tuple[int, str] | None = None

    async def _read_head(self) -> tuple[int, str]:
        rows = await self.store.query("audit_head")
        if not rows:
            return 0, GENESIS_HASH
        return int(rows[0]["seq"]), str(rows[0]["hash"])

    async def append(
        self,
        *,
        user: str,
        role: str,
        action: str,
        persons: Sequence[str] = (),
        records: Sequence[str] = (),
        fields: Sequence[str] = (),
        purpose: str | None = None,
    ) -> AuditRecord:
        """Append one entry and return it.

        Raises:
            AuditUnavailableError: the entry could not be written (the caller
                must then not release the data it was about to return).
        """
        persons_t = tuple(sorted(set(persons)))
        records_t = tuple(sorted(set(records)))
        fields_t = tuple(sorted(set(fields)))
        async with self._lock:
            try:
                for _ in range(_MAX_ATTEMPTS):
                    if self._head is None:
                        self._head = await self._read_head()
                    seq, prev_hash = self._head[0] + 1, self._head[1]
                    at = datetime.now(UTC).isoformat(timespec="microseconds")
                    digest = entry_hash(
                        seq=seq,
                        at=at,
                        user=user,
                        role=role,
                        action=action,
                        persons=persons_t,
                        records=records_t,
                        fields=fields_t,
                        purpose=purpose,
                        prev_hash=prev_hash,
                    )
                    try:
                        rows = await self.store.query(
                            "audit_append",
                            seq=seq,
                            at=at,
                            user=user,
                            role=role,
                            action=action,
                            persons=list(persons_t),
                            records=list(records_t),
                            fields=list(fields_t),
                            purpose=purpose,
                            prev_hash=prev_hash,
                            hash=digest,
                        )
                    except ConstraintViolationError:
                        rows = []
                    if rows:
                        self._head = (seq, digest)
                        return AuditRecord(
                            seq,
                            at,
                            user,
                            role,
                            action,
                            persons_t,
                            records_t,
                            fields_t,
                            purpose,
                            prev_hash,
                            digest,
                        )
                    self._head = None  # another process appended: re-read the head
            except StoreError as exc:
                self._head = None
                log.error("audit append failed: %s", type(exc).__name__)
                raise AuditUnavailableError(
                    "the audit log could not be written, so no data was returned"
                ) from exc
        raise AuditUnavailableError("the audit log is contended; no data was returned, retry")

    async def page(
        self,
        *,
        after_seq: int,
        limit: int,
        user: str | None = None,
        person_id: str | None = None,
    ) -> list[AuditRecord]:
        """Entries with `seq > after_seq`, in order, optionally filtered."""
        rows = await self.store.query(
            "audit_entries_page", after_seq=after_seq, limit=limit, user=user, person_id=person_id
        )
        return [AuditRecord.from_row(r["entry"]) for r in rows]


@dataclass(slots=True)
class VerifyResult:
    """What `verify_chain` found.

    Attributes:
        ok: the whole chain verifies.
        entries: how many entries were checked.
        head_hash: the hash of the last entry checked.
        first_bad_seq: the first entry that does not verify (None when ok).
        problems: human-readable descriptions (no personal data).
    """

    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)


async def verify_chain(store: GraphStore, *, max_problems: int = 20) -> VerifyResult:
    """Walk the whole audit chain in order and check every link.

    Checks that sequence numbers run 1, 2, 3, ... without gaps or duplicates,
    that each `prev_hash` is the previous entry's `hash`, and that each `hash`
    matches the entry's content.
    """
    problems: list[str] = []
    first_bad: int | None = None
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    after = 0
    log_ = AuditLog(store)

    def bad(seq: int, what: str) -> None:
        nonlocal first_bad
        if first_bad is None:
            first_bad = seq
        if len(problems) < max_problems:
            problems.append(f"entry {seq}: {what}")

    while True:
        page = await log_.page(after_seq=after, limit=_PAGE)
        if not page:
            break
        for entry in page:
            count += 1
            if entry.seq != expected_seq:
                bad(entry.seq, f"sequence gap or duplicate (expected {expected_seq})")
            if entry.prev_hash != prev_hash:
                bad(entry.seq, "prev_hash does not match the previous entry's hash")
            recomputed = entry_hash(
                seq=entry.seq,
                at=entry.at,
                user=entry.user,
                role=entry.role,
                action=entry.action,
                persons=entry.persons,
                records=entry.records,
                fields=entry.fields,
                purpose=entry.purpose,
                prev_hash=entry.prev_hash,
            )
            if recomputed != entry.hash:
                bad(entry.seq, "content does not match its hash (entry altered)")
            expected_seq = entry.seq + 1
            prev_hash = entry.hash
        after = page[-1].seq
    return VerifyResult(first_bad is None, count, prev_hash, first_bad, problems)
