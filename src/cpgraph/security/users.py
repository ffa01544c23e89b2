"""API users and bearer tokens: add, list, revoke, rotate, and expiry.

A token is `cpg_` followed by 32 random bytes (URL-safe base64). It is shown
once, when the user is added or the token rotated, and stored only as its
SHA-256 digest: a token has 256 bits of entropy, so a fast hash is enough
(nothing to brute-force, no salt needed), and lookups are a single indexed match
on the digest.

Every token expires (`expires_at`, default `Settings.token_expiry_days` days). A
user stored before expiry existed has no `expires_at`: its token expires the
default number of days after its `created_at` (so an old, forgotten token stops
working on upgrade; `cpgraph users rotate` gives it a new one). A revoked user
stays (for the audit trail) but its token never works again.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from cpgraph.errors import ConfigError, ConstraintViolationError
from cpgraph.security.errors import UnknownUserError, UserExistsError
from cpgraph.security.roles import Role
from cpgraph.store import GraphStore

TOKEN_PREFIX = "cpg_"
_TOKEN_BYTES = 32
_TOKEN_RE = re.compile(r"^cpg_[A-Za-z0-9_-]{43}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MAX_EXPIRY_DAYS = 3650


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as `cpgraph users list` shows it: never the token or its hash.

    Attributes:
        name: user name.
        role: role as stored.
        created_at: when added (ISO, UTC).
        expires_at: when the token stops working (ISO, UTC); for a user made before
            expiry existed, the default lifetime from `created_at`.
        expiry_stored: False when `expires_at` is that derived default.
        revoked_at: when revoked (None: not revoked).
        rotated_at: when the token was last rotated (None: never).
    """

    name: str
    role: str
    created_at: str | None
    expires_at: str | None
    expiry_stored: bool
    revoked_at: str | None
    rotated_at: str | None

    def status(self, now: datetime | None = None) -> str:
        """``revoked``, ``expired`` or ``active``."""
        if self.revoked_at:
            return "revoked"
        expires = _parse(self.expires_at)
        if expires is None or expires <= (now or datetime.now(UTC)):
            return "expired"
        return "active"


@lru_cache(maxsize=1)
def default_expiry_days() -> int:
    """`Settings.token_expiry_days` (read once per process; `CPGRAPH_TOKEN_EXPIRY_DAYS`)."""
    from cpgraph.config import Settings  # noqa: PLC0415 — settings only when needed

    return Settings().token_expiry_days


def new_token() -> str:
    """Return a fresh random bearer token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """Return the stored form of a token (hex SHA-256)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _expiry(now: datetime, expires_in_days: int | None) -> str:
    days = default_expiry_days() if expires_in_days is None else expires_in_days
    if not 1 <= days <= MAX_EXPIRY_DAYS:
        raise ConfigError(f"a token's lifetime must be 1-{MAX_EXPIRY_DAYS} days")
    return (now + timedelta(days=days)).isoformat()


def effective_expiry(row: dict[str, Any]) -> tuple[datetime | None, bool]:
    """When a stored user's token expires, and whether that time is stored.

    A user made before expiry existed expires the default lifetime after its
    creation; one with neither date has expired (fail closed).
    """
    stored = _parse(row.get("expires_at"))
    if stored is not None:
        return stored, True
    created = _parse(row.get("created_at"))
    if created is None:
        return None, False
    return created + timedelta(days=default_expiry_days()), False


async def add_user(
    store: GraphStore,
    name: str,
    role: Role | str,
    *,
    expires_in_days: int | None = None,
    now: datetime | None = None,
) -> str:
    """Create a user and return their bearer token (the only time it is visible).

    Args:
        store: a started graph store.
        name: user name: letters, digits, `. _ @ -`, at most 64 characters.
        role: one of `Role`.
        expires_in_days: the token's lifetime (default `Settings.token_expiry_days`).
        now: the current time (tests).

    Returns:
        The token; only its hash is stored.

    Raises:
        ConfigError: bad name, unknown role or lifetime out of range.
        UserExistsError: the name is taken.
    """
    if not _NAME_RE.match(name):
        raise ConfigError("user name must be 1-64 letters, digits or . _ @ - (no spaces)")
    try:
        role = Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise ConfigError(f"unknown role; choose one of {choices}") from None
    at = now or datetime.now(UTC)
    expires_at = _expiry(at, expires_in_days)
    token = new_token()
    try:
        rows = await store.query(
            "users_create",
            name=name,
            role=role.value,
            token_hash=hash_token(token),
            created_at=at.isoformat(),
            expires_at=expires_at,
        )
    except ConstraintViolationError:
        rows = []
    if not rows:
        raise UserExistsError("a user with that name already exists")
    return token


async def list_users(store: GraphStore) -> list[UserInfo]:
    """Every user, by name, with role, creation, expiry and revocation (no token hash)."""
    rows = await store.query("users_list")
    out = []
    for row in rows:
        expires, stored = effective_expiry(row)
        out.append(
            UserInfo(
                name=str(row["name"]),
                role=str(row.get("role") or ""),
                created_at=row.get("created_at"),
                expires_at=expires.isoformat() if expires else None,
                expiry_stored=stored,
                # a user switched off before revocation existed counts as revoked
                revoked_at=row.get("revoked_at")
                or ("unknown" if row.get("active") is False else None),
                rotated_at=row.get("rotated_at"),
            )
        )
    return out


async def revoke_user(store: GraphStore, name: str, *, now: datetime | None = None) -> str:
    """Revoke a user's token for good; return when it was revoked (ISO, UTC).

    Revoking a revoked user changes nothing (the first time stays).

    Raises:
        UnknownUserError: no user has that name.
    """
    at = (now or datetime.now(UTC)).isoformat()
    rows = await store.query("users_revoke", name=name, at=at)
    if not rows:
        raise UnknownUserError("no user with that name")
    return str(rows[0]["revoked_at"])


async def rotate_token(
    store: GraphStore,
    name: str,
    *,
    expires_in_days: int | None = None,
    now: datetime | None = None,
) -> str:
    """Give a live user a new token (returned once); the old one stops working at once.

    Args:
        store: a started graph store.
        name: the user.
        expires_in_days: the new token's lifetime (default `Settings.token_expiry_days`).
        now: the current time (tests).

    Raises:
        UnknownUserError: no such user, or it is revoked (rotating never revives one).
        ConfigError: lifetime out of range.
    """
    at = now or datetime.now(UTC)
    expires_at = _expiry(at, expires_in_days)
    token = new_token()
    rows = await store.query(
        "users_rotate",
        name=name,
        token_hash=hash_token(token),
        expires_at=expires_at,
        at=at.isoformat(),
    )
    if not rows:
        raise UnknownUserError("no live user with that name (a revoked user stays revoked)")
    return token


async def identify(
    store: GraphStore, token: str | None, *, now: datetime | None = None
) -> tuple[Principal | None, str | None]:
    """The user a bearer token authenticates, and the name of the user it belongs to.

    Returns (principal, name): the principal is None when the token is missing,
    malformed, unknown, revoked or expired, or the role unknown; the name is set
    whenever a live user row matched (an expired token's user), so a refusal can say
    who. Malformed tokens are rejected without a store round trip.
    """
    if not token or not _TOKEN_RE.match(token):
        return None, None
    rows = await store.query("user_by_token_hash", token_hash=hash_token(token))
    if not rows:
        return None, None
    name = str(rows[0]["name"])
    expires, _ = effective_expiry(rows[0])
    if expires is None or expires <= (now or datetime.now(UTC)):
        return None, name  # expired: as good as unknown
    try:
        return Principal(name, Role(rows[0]["role"])), name
    except ValueError:
        return None, name  # a role this version does not know: deny


async def authenticate(
    store: GraphStore, token: str | None, *, now: datetime | None = None
) -> Principal | None:
    """Return the user a bearer token belongs to, or None (unknown, revoked, expired).

    Malformed tokens are rejected without a store round trip.
    """
    principal, _ = await identify(store, token, now=now)
    return principal
