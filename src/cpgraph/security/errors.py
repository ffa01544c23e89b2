"""Security errors. Messages are precise but never carry personal data."""

from __future__ import annotations

from typing import Any

from cpgraph.errors import CpgraphError


class AccessError(CpgraphError):
    """Base of errors shown to API clients as they are (not masked).

    Attributes:
        code: machine-readable code, put in the GraphQL error's `extensions`.
        extensions: what graphql-core copies into the error's `extensions`.
    """

    code = "FORBIDDEN"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": self.code}


class AuthenticationError(AccessError):
    """No valid bearer token."""

    code = "UNAUTHENTICATED"


class PermissionDeniedError(AccessError):
    """The caller's role may not read what it asked for."""

    code = "FORBIDDEN"


class PurposeRequiredError(AccessError):
    """Person data was asked for without a valid stated purpose."""

    code = "PURPOSE_REQUIRED"


class AuditUnavailableError(AccessError):
    """The audit entry could not be written, so no data is returned."""

    code = "AUDIT_UNAVAILABLE"


class UserExistsError(CpgraphError):
    """A user with that name already exists."""


class UnknownUserError(CpgraphError):
    """No (live) user with that name."""


class AuditKeyError(CpgraphError):
    """The audit chain's key cannot be read or created (the message names no secret)."""


class AuditAnchorError(CpgraphError):
    """The audit chain's anchor file is missing or unusable, so nothing is appended."""
