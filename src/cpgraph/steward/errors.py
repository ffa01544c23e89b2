"""Errors of steward operations, shown to API clients and terminal users as they are.

Messages name ids, versions and counts, never a person's recorded values.
"""

from __future__ import annotations

from cpgraph.security.errors import AccessError


class StewardForbiddenError(AccessError):
    """The caller's role may not decide matches."""

    code = "FORBIDDEN"


class StewardNotFoundError(AccessError):
    """No such candidate, person or record."""

    code = "NOT_FOUND"


class StewardBadInputError(AccessError):
    """An argument is malformed (reason, record keys, person ids)."""

    code = "BAD_USER_INPUT"


class StewardConflictError(AccessError):
    """Someone else decided first: the candidate's version moved on."""

    code = "CONFLICT"


class IdentifierConflictError(StewardConflictError):
    """Joining the persons would join different valid identifiers of one kind.

    The message and ``extensions.identifierKinds`` name the kinds, never the values.
    """

    def __init__(self, kinds: list[str], what: str) -> None:
        """Build the error for `kinds` (e.g. ``["NHS_NUMBER"]``) refused in a `what`."""
        names = ", ".join(kinds)
        super().__init__(
            f"{what} refused: the persons hold different valid identifiers of one kind "
            f"({names}); if they are one person nonetheless, decide again with "
            "overrideIdentifierConflict: true and a reason"
        )
        self.kinds = list(kinds)
        self.extensions["identifierKinds"] = list(kinds)
