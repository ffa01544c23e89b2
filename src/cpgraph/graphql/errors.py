"""Errors the API shows to clients as they are (everything else is masked)."""

from __future__ import annotations

from cpgraph.security.errors import AccessError


class NotFoundError(AccessError):
    """The asked-for person or record does not exist (the value is not echoed)."""

    code = "NOT_FOUND"


class BadInputError(AccessError):
    """An argument is out of range or malformed."""

    code = "BAD_USER_INPUT"


class QueryTooCostlyError(AccessError):
    """The query's estimated cost is over the per-request budget (refused unrun)."""

    code = "QUERY_TOO_COSTLY"

    def __init__(self, cost: int, limit: int) -> None:
        """Say the computed cost and the limit, so a client can split its query."""
        super().__init__(
            f"query cost {cost} is over the limit of {limit}; ask for fewer aliases, "
            "smaller pages (first) or a shallower network"
        )
        self.extensions.update({"cost": cost, "limit": limit})
