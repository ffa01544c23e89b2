"""API users and bearer tokens.

A token is `cpg_` followed by 32 random bytes (URL-safe base64). It is shown
once, when the user is added, and stored only as its SHA-256 digest: a token
has 256 bits of entropy, so a fast hash is enough (nothing to brute-force, no
salt needed), and lookups are a single indexed match on the digest.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from cpgraph.errors import ConfigError, ConstraintViolationError
from cpgraph.security.errors import UserExistsError
from cpgraph.security.roles import Role
from cpgraph.store import GraphStore

TOKEN_PREFIX = "cpg_"
_TOKEN_BYTES = 32
_TOKEN_RE = re.compile(r"^cpg_[A-Za-z0-9_-]{43}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    name: str
    role: Role


def new_token() -> str:
    """Return a fresh random bearer token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """Return the stored form of a token (hex SHA-256)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def add_user(store: GraphStore, name: str, role: Role | str) -> str:
    """Create a user and return their bearer token (the only time it is visible).

    Args:
        store: a started graph store.
        name: user name: letters, digits, `. _ @ -`, at most 64 characters.
        role: one of `Role`.

    Returns:
        The token; only its hash is stored.

    Raises:
        ConfigError: bad name or unknown role.
        UserExistsError: the name is taken.
    """
    if not _NAME_RE.match(name):
        raise ConfigError("user name must be 1-64 letters, digits or . _ @ - (no spaces)")
    try:
        role = Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise ConfigError(f"unknown role; choose one of {choices}") from None
    token = new_token()
    try:
        rows = await store.query(
            "users_create",
            name=name,
            role=role.value,
            token_hash=hash_token(token),
            created_at=datetime.now(UTC).isoformat(),
        )
    except ConstraintViolationError:
        rows = []
    if not rows:
        raise UserExistsError("a user with that name already exists")
    return token


async def authenticate(store: GraphStore, token: str | None) -> Principal | None:
    """Return the active user a bearer token belongs to, or None.

    Malformed tokens are rejected without a store round trip.
    """
    if not token or not _TOKEN_RE.match(token):
        return None
    rows = await store.query("user_by_token_hash", token_hash=hash_token(token))
    if not rows:
        return None
    try:
        return Principal(rows[0]["name"], Role(rows[0]["role"]))
    except ValueError:
        return None  # a role this version does not know: deny
