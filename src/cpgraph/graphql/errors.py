"""Errors the API shows to clients as they are (everything else is masked)."""

from __future__ import annotations

from cpgraph.security.errors import AccessError


class NotFoundError(AccessError):
    """The asked-for person or record does not exist (the value is not echoed)."""

    code = "NOT_FOUND"


class BadInputError(AccessError):
    """An argument is out of range or malformed."""

    code = "BAD_USER_INPUT"
