"""The append-only, keyed hash chain of the audit log (`AuditEntry` nodes in the graph).

Each entry carries `seq` (1, 2, 3, ... with no gaps), the `hash` of its own
content and the `prev_hash` of the entry before it (64 zeros for the first).
Since chain version 2 (`v: 2` on the entry) `hash` is an HMAC-SHA256 under a key
kept outside the graph (:mod:`cpgraph.security.anchor`), so an edit cannot be
hidden by recomputing the hashes; and every append also writes the new head to
an anchor file outside the graph, so deleting the last entries is detected too.
Entries written before version 2 (plain SHA-256, no `v`) stay verifiable, but
only as the prefix the anchor's genesis line records.

Sequence numbers are safe under concurrency: within a process an
`asyncio.Lock` serialises appends; across processes the append query only
creates the entry when its `seq` is free (backed by a uniqueness constraint),
and a writer that loses the race re-reads the head and retries.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cpgraph.config import Settings, get_settings
from cpgraph.errors import ConstraintViolationError, CpgraphError
from cpgraph.security.anchor import (
    AnchorState,
    AuditAnchor,
    anchor_path,
    audit_key,
    key_configured,
)
from cpgraph.security.errors import AuditAnchorError, AuditUnavailableError
from cpgraph.store import GraphStore

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
#: The chain version new entries are written with (1: SHA-256, 2: HMAC-SHA256).
CHAIN_VERSION = 2
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
    version: int = CHAIN_VERSION

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AuditRecord:
        """Build from the stored node's properties (no `v`: a version 1 entry)."""
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
            version=int(row.get("v") or 1),
        )

    def body(self) -> dict[str, Any]:
        """The hashed content (everything but `hash`; `v` only from version 2)."""
        return _body(
            seq=self.seq,
            at=self.at,
            user=self.user,
            role=self.role,
            action=self.action,
            persons=self.persons,
            records=self.records,
            fields=self.fields,
            purpose=self.purpose,
            prev_hash=self.prev_hash,
            version=self.version,
        )


def _body(
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
    version: int,
) -> dict[str, Any]:
    body: dict[str, Any] = {
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
    if version >= 2:
        body["v"] = version
    return body


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def keyed_hash(key: bytes, body: dict[str, Any]) -> str:
    """HMAC-SHA256 (hex) of an entry's canonical JSON: the version 2 `hash`."""
    return hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()


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
    """Return the SHA-256 (hex) of an entry's canonical JSON form (chain version 1)."""
    body = _body(
        seq=seq,
        at=at,
        user=user,
        role=role,
        action=action,
        persons=persons,
        records=records,
        fields=fields,
        purpose=purpose,
        prev_hash=prev_hash,
        version=1,
    )
    return hashlib.sha256(_canonical(body)).hexdigest()


class AuditLog:
    """Appends entries to the chain. Share one instance per process and store."""

    def __init__(self, store: GraphStore, settings: Settings | None = None) -> None:
        """Create the log over a started store.

        Args:
            store: the graph store holding the entries.
            settings: where the key and the anchor live (default: the store's).
        """
        self.store = store
        self.settings = settings or getattr(store, "settings", None) or get_settings()
        self._lock = asyncio.Lock()
        self._head: tuple[int, str] | None = None
        self._anchor: AuditAnchor | None = None

    def _open_anchor(self) -> AuditAnchor:
        if self._anchor is None:
            key = audit_key(self.settings)
            assert key is not None  # created when missing
            self._anchor = AuditAnchor(anchor_path(self.settings), key)
        return self._anchor

    async def _read_head(self) -> tuple[int, str]:
        rows = await self.store.query("audit_head")
        seq, digest = (int(rows[0]["seq"]), str(rows[0]["hash"])) if rows else (0, GENESIS_HASH)
        anchor = self._open_anchor()
        if not anchor.path.exists():
            if rows and int(rows[0].get("v") or 1) >= 2:
                # A keyed chain whose anchor is gone: anchoring it afresh would hide
                # a cut, so fail closed until an operator restores or re-anchors it.
                raise AuditAnchorError(
                    "the audit anchor file is missing: restore it from backup, or accept "
                    "the chain as it stands with `cpgraph audit reanchor --yes`"
                )
            # The first keyed append anchors the chain as it stands (older entries
            # are the unkeyed version 1 prefix).
            anchor.start(seq, digest)
        state = anchor.read(full=False)
        if state.head_seq > seq:
            # Entries were removed from the store: continue after the anchored head,
            # so no sequence number is ever used twice (`audit verify` reports the gap).
            log.error(
                "the audit log in the store ends at seq %d but its anchor records seq %d: "
                "entries are missing",
                seq,
                state.head_seq,
            )
            return state.head_seq, state.head_hash
        return seq, digest

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
                    anchor = self._open_anchor()
                    body = _body(
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
                        version=CHAIN_VERSION,
                    )
                    digest = keyed_hash(anchor.key, body)
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
                            v=CHAIN_VERSION,
                        )
                    except ConstraintViolationError:
                        rows = []
                    if rows:
                        anchor.record(seq, digest, seq)
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
            except (CpgraphError, OSError) as exc:
                # A store failure, no key, or an anchor that cannot be written.
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
        ok: the whole chain verifies, against its key and its anchor.
        entries: how many entries were checked.
        head_hash: the hash of the last entry checked.
        first_bad_seq: the first entry that does not verify (None when ok, or
            when only entries at the end are missing: see ``missing_after``).
        missing_after: entries after this seq are missing (the anchor records more).
        problems: human-readable descriptions (no personal data).
        notes: findings that do not fail the check (an unanchored legacy chain...).
        anchored: the anchor file exists.
        legacy_seq / legacy_hash: the last unkeyed (version 1) entry of the prefix
            (0 and 64 zeros when there is none).
    """

    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None = None
    missing_after: int | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    anchored: bool = False
    legacy_seq: int = 0
    legacy_hash: str = GENESIS_HASH


async def verify_chain(
    store: GraphStore, *, settings: Settings | None = None, max_problems: int = 20
) -> VerifyResult:
    """Walk the whole audit chain in order and check every link, the key and the anchor.

    Checks that sequence numbers run 1, 2, 3, ... without gaps or duplicates,
    that each `prev_hash` is the previous entry's `hash`, that each `hash` is the
    HMAC of the entry's content under the audit key (SHA-256 for the version 1
    prefix the anchor allows), that the anchor file's lines verify, and that the
    chain reaches the anchored head with the anchored hash — so deleting the last
    entries ("entries missing after seq N") or rewriting the chain is reported.

    Args:
        store: the store holding the entries.
        settings: where the key and anchor live (default: the store's settings).
        max_problems: at most this many problems are described.
    """
    settings = settings or getattr(store, "settings", None) or get_settings()
    key = audit_key(settings, create=False)
    anchor = AuditAnchor(anchor_path(settings), key) if key is not None else None
    state = anchor.read(full=True) if anchor is not None else AnchorState()
    problems: list[str] = []
    notes: list[str] = []
    first_bad: int | None = None
    missing_after: int | None = None
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    keyed_seen = False
    legacy_seq, legacy_hash = 0, GENESIS_HASH
    hash_at_anchor: str | None = None
    hash_at_legacy: str | None = None
    after = 0
    log_ = AuditLog(store, settings)

    def problem(text: str) -> None:
        if len(problems) < max_problems:
            problems.append(text)

    def bad(seq: int, what: str) -> None:
        nonlocal first_bad
        if first_bad is None:
            first_bad = seq
        problem(f"entry {seq}: {what}")

    for number in state.bad_lines[:max_problems]:
        problem(f"anchor line {number}: does not verify (anchor file altered)")
    # Unkeyed entries are accepted only up to what the anchor's genesis allows.
    legacy_until = state.legacy_until

    while True:
        page = await log_.page(after_seq=after, limit=_PAGE)
        if not page:
            break
        for entry in page:
            count += 1
            if entry.seq > expected_seq:
                problem(f"entries missing after seq {expected_seq - 1}")
                bad(entry.seq, f"sequence gap (expected {expected_seq})")
            elif entry.seq != expected_seq:
                bad(entry.seq, f"sequence duplicate (expected {expected_seq})")
            if entry.prev_hash != prev_hash:
                bad(entry.seq, "prev_hash does not match the previous entry's hash")
            if entry.version >= 2:
                keyed_seen = True
                if key is None:
                    bad(entry.seq, "keyed entry but no audit key (CPGRAPH_AUDIT_KEY or audit.key)")
                elif not hmac.compare_digest(keyed_hash(key, entry.body()), entry.hash):
                    bad(entry.seq, "content does not match its hash (entry altered or wrong key)")
            else:
                if keyed_seen or (legacy_until is not None and entry.seq > legacy_until):
                    bad(entry.seq, "unkeyed entry inside the keyed chain (entry rewritten)")
                recomputed = hashlib.sha256(_canonical(entry.body())).hexdigest()
                if recomputed != entry.hash:
                    bad(entry.seq, "content does not match its hash (entry altered)")
                if not keyed_seen:
                    legacy_seq, legacy_hash = entry.seq, entry.hash
            if entry.seq == state.head_seq:
                hash_at_anchor = entry.hash
            if legacy_until and entry.seq == legacy_until:
                hash_at_legacy = entry.hash
            expected_seq = entry.seq + 1
            prev_hash = entry.hash
        after = page[-1].seq
    last_seq = expected_seq - 1

    if not state.exists:
        if count and (keyed_seen or key_configured(settings)):
            problem("the audit anchor file is missing (audit.anchor in the data directory)")
        elif count:
            notes.append(
                "legacy chain (version 1, unkeyed) and no anchor yet: the next entry "
                "written anchors it"
            )
    else:
        if legacy_until and hash_at_legacy != state.legacy_hash:
            bad(legacy_until, "does not match the anchored end of the unkeyed prefix")
        if state.head_seq > last_seq:
            missing_after = last_seq
            problem(
                f"entries missing after seq {last_seq} (the anchor records seq {state.head_seq})"
            )
        elif state.head_seq and hash_at_anchor != state.head_hash:
            bad(state.head_seq, "does not match the anchored head (chain rewritten)")
        if last_seq > state.head_seq:
            notes.append(f"{last_seq - state.head_seq} entries after the last anchored seq")
    ok = first_bad is None and missing_after is None and not problems
    return VerifyResult(
        ok,
        count,
        prev_hash,
        first_bad,
        missing_after,
        problems,
        notes,
        state.exists,
        legacy_seq,
        legacy_hash,
    )


async def reanchor(store: GraphStore, settings: Settings | None = None) -> VerifyResult:
    """Anchor a keyed chain whose anchor file is gone, accepting the chain as it stands.

    Only when the anchor is missing and every entry still verifies under the key:
    the operator vouches that nothing was cut from the end (restoring the anchor
    from backup is better). The re-anchoring is itself audited.

    Raises:
        AuditAnchorError: the anchor exists, or the chain does not verify.
    """
    settings = settings or getattr(store, "settings", None) or get_settings()
    result = await verify_chain(store, settings=settings)
    if result.anchored:
        raise AuditAnchorError("the audit anchor file exists; nothing to re-anchor")
    if result.first_bad_seq is not None:
        raise AuditAnchorError(
            f"the audit chain does not verify (entry {result.first_bad_seq}); not re-anchoring"
        )
    key = audit_key(settings)
    assert key is not None
    anchor = AuditAnchor(anchor_path(settings), key)
    anchor.start(result.legacy_seq, result.legacy_hash)
    if result.entries:
        anchor.record(result.entries, result.head_hash, result.entries)
    await AuditLog(store, settings).append(
        user=f"cli:{getpass.getuser()}", role="admin", action="audit:reanchor"
    )
    return await verify_chain(store, settings=settings)
