"""The per-request GraphQL context: who is asking, why, and what they read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from strawberry.fastapi import BaseContext
from strawberry.types import Info

from cpgraph.graphql.data import Loaders
from cpgraph.graphql.limits import ApiLimits
from cpgraph.graphql.metrics import ApiMetrics
from cpgraph.security.audit import AuditLog
from cpgraph.security.purpose import Purpose
from cpgraph.security.refusals import RefusalLog
from cpgraph.security.users import Principal
from cpgraph.store import GraphStore
from cpgraph.work import OverloadedError, WorkPool


@dataclass(slots=True)
class AccessRecord:
    """What a request read, for its audit entry."""

    persons: set[str] = field(default_factory=set)
    records: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)
    roots: list[str] = field(default_factory=list)
    # what the action names beyond the roots (e.g. the audit entries an auditor read)
    detail: list[str] = field(default_factory=list)


class RequestContext(BaseContext):
    """Everything a resolver may use. A fresh one per request."""

    def __init__(
        self,
        *,
        store: GraphStore,
        principal: Principal | None,
        purpose_header: str | None,
        audit: AuditLog,
        limits: ApiLimits,
        metrics: ApiMetrics | None = None,
        pool: WorkPool | None = None,
        refusals: RefusalLog | None = None,
    ) -> None:
        """Create the context; `principal` is None only for the GraphiQL page.

        `pool` runs the request's CPU work off the event loop (`run_cpu`); without
        one (tests) it runs inline. `refusals` counts the request's errors for the
        audit chain (`cpgraph.security.refusals`).
        """
        super().__init__()
        self.store = store
        self.principal = principal
        self.purpose_header = purpose_header
        self.purpose: Purpose | None = None
        self.audit = audit
        self.limits = limits
        self.metrics = metrics
        self.loaders = Loaders(store)
        self.access = AccessRecord()
        self.pool = pool
        self.refusals = refusals

    async def run_cpu[T](self, fn: Callable[..., T], *args: Any) -> T:
        """Run CPU-bound ``fn(*args)`` in the worker pool (inline without one).

        Raises:
            OverloadedError: the pool is full; the response becomes a 503 with
                ``Retry-After``.
        """
        if self.pool is None:
            return fn(*args)
        try:
            return await self.pool.run(fn, *args)
        except OverloadedError as exc:
            if self.response is not None:
                self.response.status_code = 503
                self.response.headers["Retry-After"] = str(exc.retry_after_s)
            raise

    @property
    def dialect(self) -> str:
        """Cypher dialect of the store (`falkordb` or `neo4j`)."""
        return self.store.registry.dialect

    def saw_person(self, person_id: str) -> None:
        """Note that the response discloses something about this person."""
        self.access.persons.add(person_id)

    def saw_record(self, key: str) -> None:
        """Note that the response discloses this source record."""
        self.access.records.add(key)


GqlInfo = Info[RequestContext, None]
