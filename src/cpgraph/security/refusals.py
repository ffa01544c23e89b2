"""Refused requests in the audit chain: who, what, why — counted, then written in aggregate.

Every request the API refuses or answers with an error (401, 403 ``FORBIDDEN``,
``PURPOSE_REQUIRED``, ``QUERY_TOO_COSTLY``, 429, 413, ``BAD_USER_INPUT``...) is noted
here: *who* (the user when the token resolved, else ``token:<fingerprint>`` — the
first 12 hex digits of the token's SHA-256, never the token — or ``anonymous``),
*what* (the operation's root fields and name, or the route; never variables or
argument values) and *why* (the error code).

Noting is an in-memory count (a lock and a dict), so a flood of bad requests costs
the audit nothing per request: the server's flusher writes one chain entry per
distinct (who, role, why, what) every window (`ApiLimits.refusal_audit_window_s`)
and at shutdown, with the count and the first and last time seen. At most
`max_keys` distinct keys are kept per window; beyond, refusals are counted under
``who=*`` and ``what=*`` per code, so a flood of distinct tokens writes at most
`max_keys` + (number of codes) entries per window. A crash loses at most the window
not yet written.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import threading
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime

from cpgraph.security.audit import AuditLog, AuditRecord
from cpgraph.security.errors import AuditUnavailableError

log = logging.getLogger(__name__)

ANONYMOUS = "anonymous"
NO_ROLE = "none"
OVERFLOW = "*"
DEFAULT_WINDOW_S = 5.0
DEFAULT_MAX_KEYS = 100
#: The action of a refusal entry starts with this (then the code).
ACTION_PREFIX = "refused:"
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
# What may appear in `what`: schema names, operation names, routes (no values).
_UNSAFE = re.compile(r"[^A-Za-z0-9_:,/=.\- ]")
_MAX_WHAT = 200


def token_fingerprint(token_sha256: str) -> str:
    """``token:<12 hex>`` from a token's SHA-256 (hex): groups one token's refusals, and
    an auditor can match it to `User.token_hash`, but it can never be used as a token."""
    return f"token:{token_sha256[:12]}"


def fingerprint_of(token: str) -> str:
    """`token_fingerprint` of a raw bearer token."""
    return token_fingerprint(hashlib.sha256(token.encode("utf-8", "replace")).hexdigest())


def clean_code(code: str) -> str:
    """The error code if it looks like one of ours, else ``OTHER``."""
    return code if _CODE.fullmatch(code) else "OTHER"


def clean_what(what: str) -> str:
    """Only name-like characters, at most 200 of them."""
    return _UNSAFE.sub("?", what)[:_MAX_WHAT] or "-"


@dataclass(slots=True)
class RequestMark:
    """Whether the request being served has had its refusal counted already."""

    noted: bool = False


# One mark per request, set by the HTTP guard; the GraphQL loop's task gets a copy of
# the context, so both loops see the same mark object.
_MARK: ContextVar[RequestMark | None] = ContextVar("cpgraph_refusal_mark", default=None)


def begin_request() -> tuple[RequestMark, Token[RequestMark | None]]:
    """Start tracking whether this request's refusal is counted (`end_request` after)."""
    mark = RequestMark()
    return mark, _MARK.set(mark)


def end_request(token: Token[RequestMark | None]) -> None:
    """Stop tracking (the token `begin_request` returned)."""
    _MARK.reset(token)


_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "BAD_REQUEST",
    429: "RATE_LIMITED",
    503: "UNAVAILABLE",
    504: "TIMEOUT",
}


def http_code(status: int) -> str:
    """A reason code for an HTTP error status nothing else explained (``HTTP_<n>``)."""
    return _HTTP_CODES.get(status, f"HTTP_{status}")


@dataclass(slots=True)
class _Count:
    count: int
    first: str
    last: str


Key = tuple[str, str, str, str]  # who, role, code, what


class RefusalLog:
    """Counts refused requests in memory; `flush` writes them to the audit chain.

    Thread-safe: the API notes refusals both on the server's loop (the guard) and on
    the GraphQL loop (resolvers, the access gate).
    """

    def __init__(self, *, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        """Keep at most `max_keys` distinct keys per window (then aggregate further)."""
        self.max_keys = max(1, max_keys)
        self._lock = threading.Lock()
        self._pending: dict[Key, _Count] = {}
        # Taken by a flush and not yet appended: still "pending" to anyone who asks,
        # so pending() == 0 means written, not merely taken off the counter.
        self._in_flight = 0
        self.noted = 0

    def note(self, *, who: str, role: str, code: str, what: str) -> None:
        """Count one refusal of `what` by `who` for `code` (no I/O)."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        key: Key = (who or ANONYMOUS, role or NO_ROLE, clean_code(code), clean_what(what))
        mark = _MARK.get()
        if mark is not None:
            mark.noted = True
        with self._lock:
            self.noted += 1
            if key not in self._pending and len(self._pending) >= self.max_keys:
                key = (OVERFLOW, NO_ROLE, key[2], OVERFLOW)
            found = self._pending.get(key)
            if found is None:
                self._pending[key] = _Count(1, now, now)
            else:
                found.count += 1
                found.last = now

    def pending(self) -> int:
        """Refusals counted and not yet written."""
        with self._lock:
            return self._in_flight + sum(c.count for c in self._pending.values())

    def _take(self) -> dict[Key, _Count]:
        with self._lock:
            taken, self._pending = self._pending, {}
            self._in_flight += sum(c.count for c in taken.values())
        return taken

    def _landed(self, count: int) -> None:
        with self._lock:
            self._in_flight -= count

    def _give_back(self, items: dict[Key, _Count]) -> None:
        with self._lock:
            for key, c in items.items():
                self._in_flight -= c.count
                found = self._pending.get(key)
                if found is None:
                    self._pending[key] = c
                else:
                    found.count += c.count
                    found.first = min(found.first, c.first)

    async def flush(self, audit: AuditLog) -> list[AuditRecord]:
        """Write one entry per pending (who, role, code, what); return them.

        What cannot be written stays pending for the next flush (logged, no data).
        """
        taken = self._take()
        written: list[AuditRecord] = []
        items = sorted(taken.items(), key=lambda kv: (kv[1].first, kv[0]))
        done = 0
        try:
            for key, c in items:
                who, role, code, what = key
                try:
                    entry = await audit.append(
                        user=who,
                        role=role,
                        action=(
                            f"{ACTION_PREFIX}{code} {what} count={c.count} first={c.first} "
                            f"last={c.last}"
                        ),
                    )
                except AuditUnavailableError:
                    log.error(
                        "refusals could not be audited now: %d kept for the next flush", c.count
                    )
                    break
                written.append(entry)
                self._landed(c.count)
                done += 1
        finally:
            # Whatever was not appended (unavailable store, a cancelled flush) goes back.
            self._give_back(dict(items[done:]))
        return written

    async def run(self, audit: AuditLog, window_s: float) -> None:
        """Flush every `window_s` seconds until cancelled (the owner flushes once more
        at shutdown, before it closes the store)."""
        while True:
            await asyncio.sleep(max(window_s, 0.1))
            try:
                await self.flush(audit)
            except Exception as exc:  # noqa: BLE001 — the flusher must outlive a bad flush
                log.error("refusal flush failed: %s", type(exc).__name__)
