"""The GraphQL schema: root queries, limits, the access gate and error masking."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
)
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult

from cpgraph.errors import QueryError
from cpgraph.graphql.context import GqlInfo, RequestContext
from cpgraph.graphql.data import parse_date
from cpgraph.graphql.errors import BadInputError, NotFoundError
from cpgraph.graphql.insight import InsightQuery
from cpgraph.graphql.limits import ApiLimits, CleanStringsRule, CostLimiter
from cpgraph.graphql.pagination import (
    Connection,
    Page,
    check_first,
    decode_cursor,
    encode_cursor,
    paginate,
    to_connection,
)
from cpgraph.graphql.policy import DocumentAccess, inspect_document
from cpgraph.graphql.search import find_candidates, name_tokens
from cpgraph.graphql.steward import StewardMutation, StewardQuery
from cpgraph.graphql.types import (
    AuditEntry,
    Network,
    NetworkEdge,
    NetworkEdgeKind,
    NetworkNode,
    NetworkNodeKind,
    Person,
    SearchCandidate,
    SourceRecord,
    TimelineEvent,
    Viewer,
    person_ref,
)
from cpgraph.linkage.service import learned_name_variants
from cpgraph.security.errors import (
    AccessError,
    AuditUnavailableError,
    AuthenticationError,
    PermissionDeniedError,
    PurposeRequiredError,
)
from cpgraph.security.purpose import parse_purpose
from cpgraph.security.refusals import ANONYMOUS, NO_ROLE
from cpgraph.security.roles import Role

log = logging.getLogger(__name__)

MAX_SEARCH_PAGE = 50
MAX_TYPES = 25


def _network_person_id(person_id: str) -> str:
    return f"person:{person_id}"


@strawberry.type
class Query:
    @strawberry.field(description="Who is asking (no person data; any role).")
    def me(self, info: GqlInfo) -> Viewer:
        principal = info.context.principal
        assert principal is not None  # the gate refuses anonymous operations
        return Viewer(name=principal.name, role=principal.role.value)

    @strawberry.field(description="A person by id (a retired id answers with its survivor).")
    async def person(self, info: GqlInfo, id: strawberry.ID) -> Person:
        ctx = info.context
        data = await ctx.loaders.person.load(str(id))
        if data is None:
            raise NotFoundError("no person with that id")
        if data.person_id != id:
            ctx.loaders.person.prime(data.person_id, data)
        return person_ref(ctx, data.person_id)

    @strawberry.field(description="A source record, as recorded, with the person it resolves to.")
    async def record(self, info: GqlInfo, key: str) -> SourceRecord:
        ctx = info.context
        data = await ctx.loaders.record.load(key)
        if data is None:
            raise NotFoundError("no source record with that key")
        if data.person_id:
            ctx.saw_person(data.person_id)
        return SourceRecord.of(ctx, data)

    @strawberry.field(
        description="Fuzzy person search (typos, nicknames, phonetic, transposed dates), "
        "ranked by name, date of birth and postcode agreement."
    )
    async def search_people(
        self,
        info: GqlInfo,
        name: str,
        date_of_birth: date | None = None,
        postcode: str | None = None,
        first: int = 10,
        after: str | None = None,
    ) -> Connection[SearchCandidate]:
        ctx = info.context
        check_first(first, MAX_SEARCH_PAGE)
        tokens = name_tokens(name)
        if not tokens:
            raise BadInputError("name must contain at least one letter")
        if postcode is not None and len(postcode) > 10:
            raise BadInputError("postcode is too long")
        learned = await learned_name_variants(ctx.store)
        ranked = await find_candidates(
            ctx.store, ctx.dialect, tokens, date_of_birth, postcode, learned
        )
        indexed = list(enumerate(ranked))
        page = paginate(
            indexed,
            kind="search",
            key=lambda it: f"{it[0]:06d}",
            first=first,
            after=after,
            cap=MAX_SEARCH_PAGE,
        )
        return to_connection(page, lambda it: SearchCandidate.of(ctx, it[1]))

    @strawberry.field(
        description="Persons related to a person within `depth` hops (1-3), for drawing; with "
        "includeEvents, the events of those persons too. At most `first` nodes."
    )
    async def network(
        self,
        info: GqlInfo,
        person_id: strawberry.ID,
        depth: int = 2,
        relationship_types: list[str] | None = None,
        first: int = 100,
        include_events: bool = False,
    ) -> Network:
        ctx = info.context
        limits = ctx.limits
        if not 1 <= depth <= limits.max_network_depth:
            raise BadInputError(f"depth must be between 1 and {limits.max_network_depth}")
        check_first(first, limits.max_network_nodes)
        types = relationship_types or []
        if len(types) > MAX_TYPES or any(len(t) > 40 for t in types):
            raise BadInputError(f"at most {MAX_TYPES} relationship types of 40 characters")
        root_data = await ctx.loaders.person.load(str(person_id))
        if root_data is None:
            raise NotFoundError("no person with that id")
        root = root_data.person_id
        path_limit = limits.max_network_nodes * 4
        rows = await ctx.store.query(
            "api_network_paths", person_id=root, depth=depth, types=types, limit=path_limit
        )
        truncated = len(rows) >= path_limit
        edges: dict[tuple[str, str, str], dict[str, Any]] = {}
        adjacency: dict[str, set[str]] = {}
        for row in rows:
            for rel in row["rels"]:
                ident = (rel["from_id"], rel["to_id"], str(rel.get("relationship")))
                edges.setdefault(ident, rel)
                adjacency.setdefault(rel["from_id"], set()).add(rel["to_id"])
                adjacency.setdefault(rel["to_id"], set()).add(rel["from_id"])
        hops = {root: 0}
        frontier = [root]
        while frontier:  # breadth-first: each person's distance from the root
            nxt = []
            for pid in sorted(frontier):
                for other in sorted(adjacency.get(pid, ())):
                    if other not in hops and hops[pid] < depth:
                        hops[other] = hops[pid] + 1
                        nxt.append(other)
            frontier = nxt
        ordered = sorted(hops, key=lambda p: (hops[p], p))
        if len(ordered) > first:
            truncated = True
            ordered = ordered[:first]
        kept = set(ordered)
        nodes = [
            NetworkNode(
                id=strawberry.ID(_network_person_id(p)),
                kind=NetworkNodeKind.PERSON,
                hops=hops[p],
                person_id=p,
            )
            for p in ordered
        ]
        for p in ordered:
            ctx.saw_person(p)
        out_edges = [
            NetworkEdge(
                source=strawberry.ID(_network_person_id(a)),
                target=strawberry.ID(_network_person_id(b)),
                kind=NetworkEdgeKind.RELATED_TO,
                relationship=rel,
                lives_with=data.get("lives_with"),
                from_date=data.get("from_date"),
                to_date=data.get("to_date"),
                sources=[str(s) for s in data.get("sources") or []],
            )
            for (a, b, rel), data in sorted(edges.items())
            if a in kept and b in kept
        ]
        if include_events:
            seen_events: dict[str, NetworkNode] = {}
            for pid, events in zip(
                ordered, await ctx.loaders.events.load_many(ordered), strict=True
            ):
                for event in events:
                    node_id = f"event:{event.event_id}"
                    if node_id not in seen_events:
                        if len(nodes) >= first:
                            truncated = True
                            break
                        seen_events[node_id] = NetworkNode(
                            id=strawberry.ID(node_id),
                            kind=NetworkNodeKind.EVENT,
                            hops=hops[pid] + 1,
                            event=TimelineEvent.of(event),
                        )
                        nodes.append(seen_events[node_id])
                    out_edges.append(
                        NetworkEdge(
                            source=strawberry.ID(_network_person_id(pid)),
                            target=strawberry.ID(node_id),
                            kind=NetworkEdgeKind.INVOLVED_IN,
                            relationship=",".join(event.roles) or None,
                            from_date=event.date or None,
                            sources=list(event.record_keys),
                        )
                    )
        return Network(nodes=nodes, edges=out_edges, truncated=truncated, root_id=root)

    @strawberry.field(description="The audit chain, oldest first (auditors only).")
    async def audit_log(
        self,
        info: GqlInfo,
        first: int = 50,
        after: str | None = None,
        user: str | None = None,
        person_id: strawberry.ID | None = None,
    ) -> Connection[AuditEntry]:
        ctx = info.context
        check_first(first, ctx.limits.max_page_size)
        after_seq = 0
        if after:
            key = decode_cursor("audit", after)
            if not key.isdigit():
                raise BadInputError("invalid cursor for this list")
            after_seq = int(key)
        entries = await ctx.audit.page(
            after_seq=after_seq,
            limit=first + 1,
            user=user,
            person_id=str(person_id) if person_id is not None else None,
        )
        shown = entries[:first]
        # the read's own entry names the entries shown, and so every person and record
        # they list, by reference (copying them could make one entry megabytes long)
        ctx.access.detail.append(f"seqs={shown[0].seq}-{shown[-1].seq}" if shown else "seqs=none")
        page = Page(
            items=[(encode_cursor("audit", f"{e.seq:012d}"), e) for e in shown],
            has_next=len(entries) > first,
            total=None,  # type: ignore[arg-type]  # not counted: the chain can be long
        )
        return to_connection(page, AuditEntry.of)


def _document_error_code(error: GraphQLError) -> str:
    """The code of an error graphql-core raised about the document or its variables."""
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED"
    return "GRAPHQL_VALIDATION_FAILED"


def _error_code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, AccessError):
        return original.code
    if error.extensions and isinstance(error.extensions.get("code"), str):
        return error.extensions["code"]
    if error.path is not None:
        return "INTERNAL"  # raised while resolving a field: not the client's doing
    # about the document or the variables, before anything ran (a literal or variable
    # value a scalar refused carries that scalar's exception: still the client's input)
    return _document_error_code(error)


def _status_for(error: AccessError) -> int:
    if isinstance(error, AuthenticationError):
        return 401
    if isinstance(error, AuditUnavailableError):
        return 503
    return 403


# The field walk of an operation depends only on its text, operation name and the
# caller's role: cached (bounded) so a repeated query costs no AST walk.
_ACCESS_CACHE: dict[tuple[int, str, str | None, str], DocumentAccess] = {}
_ACCESS_CACHE_SIZE = 512


def _inspect(ec: ExecutionContext, role: Role) -> DocumentAccess:
    assert ec.graphql_document is not None
    schema = ec.schema._schema  # noqa: SLF001
    key = (id(schema), ec.query or "", ec.operation_name, role.value)
    access = _ACCESS_CACHE.get(key)
    if access is None:
        access = inspect_document(schema, ec.graphql_document, role)
        if len(_ACCESS_CACHE) >= _ACCESS_CACHE_SIZE:
            _ACCESS_CACHE.pop(next(iter(_ACCESS_CACHE)))
        _ACCESS_CACHE[key] = access
    return access


class AccessGate(SchemaExtension):
    """Before execution: authenticated, role may read every selected field, purpose
    given for person data. After: the audit entry is written, or no data leaves."""

    def _refuse(self, ctx: RequestContext | None, error: AccessError) -> None:
        self.execution_context.result = GraphQLExecutionResult(
            data=None, errors=[GraphQLError(str(error), original_error=error)]
        )
        if ctx is not None and ctx.response is not None:
            ctx.response.status_code = _status_for(error)

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        ec: ExecutionContext = self.execution_context
        ctx = ec.context if isinstance(ec.context, RequestContext) else None
        if ctx is None or ctx.principal is None:
            self._refuse(ctx, AuthenticationError("a bearer token is required"))
            yield
            return
        role = ctx.principal.role
        assert ec.graphql_document is not None
        access = _inspect(ec, role)
        if access.denied:
            denied = sorted(set(access.denied))
            shown = ", ".join(denied[:5]) + (" ..." if len(denied) > 5 else "")
            self._refuse(ctx, PermissionDeniedError(f"role {role.value} may not read {shown}"))
            yield
            return
        if access.needs_purpose:  # person data read, or a mutation
            try:
                ctx.purpose = parse_purpose(
                    ctx.purpose_header,
                    action="changing data" if access.mutations else "reading person data",
                )
            except PurposeRequiredError as exc:
                self._refuse(ctx, exc)
                yield
                return
        elif ctx.purpose_header and ctx.purpose_header.strip():
            try:  # recorded when given, e.g. for an auditor's review
                ctx.purpose = parse_purpose(ctx.purpose_header)
            except PurposeRequiredError as exc:
                self._refuse(ctx, exc)
                yield
                return
        ctx.access.fields = set(access.fields)
        ctx.access.roots = list(access.roots)
        yield
        result = ec.result
        if result is None:
            return
        audited = ctx.access.persons or ctx.access.records or "auditLog" in access.roots
        if not audited:
            return
        try:
            await ctx.audit.append(
                user=ctx.principal.name,
                role=role.value,
                action=" ".join(["query:" + ",".join(access.roots), *ctx.access.detail]),
                persons=sorted(ctx.access.persons),
                records=sorted(ctx.access.records),
                fields=sorted(ctx.access.fields),
                purpose=str(ctx.purpose) if ctx.purpose else None,
            )
        except AuditUnavailableError as exc:
            # No audit entry, no data.
            result.data = None
            result.errors = [GraphQLError(str(exc), original_error=exc)]
            if ctx.response is not None:
                ctx.response.status_code = 503
            return
        metrics = getattr(ctx, "metrics", None)
        if metrics is not None:
            metrics.audit_entries.inc()


_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_MAX_ROOTS_NAMED = 10


def operation_what(ec: ExecutionContext) -> str:
    """What a request asked for, for a refusal's audit entry: its operation type, root
    fields (schema names only: an unknown name is `?`) and operation name. Never
    argument or variable values."""
    document = ec.graphql_document
    if document is None:
        return "graphql:unparsed"
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        op
        for op in operations
        if ec.operation_name is None or (op.name is not None and op.name.value == ec.operation_name)
    ]
    if not chosen:
        return "graphql:no-operation"
    op = chosen[0]
    schema = ec.schema._schema  # noqa: SLF001
    root = schema.mutation_type if op.operation == OperationType.MUTATION else schema.query_type
    known = root.fields if root is not None else {}
    names: set[str] = set()
    for sel in op.selection_set.selections:
        if isinstance(sel, FieldNode):
            name = sel.name.value
            names.add(name if name in known or name.startswith("__") else "?")
        else:
            names.add("...")
    shown = sorted(names)[:_MAX_ROOTS_NAMED]
    what = f"{op.operation.value}:{','.join(shown)}"
    if op.name is not None and _OPERATION_NAME.fullmatch(op.name.value):
        what += f" op={op.name.value}"
    return what


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    # Errors raised while resolving (store failures, bugs) are never shown.
    return not (original is None or isinstance(original, (AccessError, GraphQLError)))


class MaskInternalErrors(MaskErrors):
    """Replace unexpected errors with a reference the logs can be searched for."""

    def __init__(self) -> None:
        """Mask every error that is not one of ours."""
        super().__init__(should_mask_error=_should_mask, error_message="internal error")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        ref = uuid.uuid4().hex[:12]
        original = error.original_error
        detail = f" query={original.query_name}" if isinstance(original, QueryError) else ""
        # Only the exception type and query name: messages may carry data.
        log.error("graphql internal error ref=%s type=%s%s", ref, type(original).__name__, detail)
        return GraphQLError(
            message=f"internal error (ref {ref})",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL", "ref": ref},
        )


class CpgraphSchema(strawberry.Schema):
    """Schema whose error logging never writes messages or tracebacks (they may carry data)."""

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """Execute; then every error the client gets carries a code (graphql-core's own,
        for syntax, validation and variable values, carry none)."""
        result = await super().execute(*args, **kwargs)
        for error in result.errors or ():
            if not (error.extensions and isinstance(error.extensions.get("code"), str)):
                error.extensions = {**(error.extensions or {}), "code": _error_code(error)}
        return result

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        ctx = execution_context.context if execution_context else None
        metrics = getattr(ctx, "metrics", None)
        codes: dict[str, None] = {}
        for error in errors:
            code = _error_code(error)
            codes[code] = None
            if metrics is not None:
                metrics.graphql_errors.labels(code=code).inc()
            log.info("graphql error code=%s", code)
        refusals = getattr(ctx, "refusals", None)
        if refusals is not None and execution_context is not None:
            # every error answer is audited: who, what (never values), why
            principal = getattr(ctx, "principal", None)
            who = principal.name if principal is not None else ANONYMOUS
            role = principal.role.value if principal is not None else NO_ROLE
            what = operation_what(execution_context)
            for code in codes:
                refusals.note(who=who, role=role, code=code, what=what)


def build_schema(limits: ApiLimits | None = None) -> strawberry.Schema:
    """Build the schema with its limits and extensions.

    Args:
        limits: query limits (default: `ApiLimits()`).
    """
    limits = limits or ApiLimits()
    # Rule classes made once per schema: the same classes on every request let the
    # validation cache hit (a limiter made per request makes new classes each time).
    depth_rules = QueryDepthLimiter(max_depth=limits.max_depth).validation_rules
    alias_rules = MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules
    return CpgraphSchema(
        query=merge_types("Query", (Query, StewardQuery, InsightQuery)),
        mutation=StewardMutation,
        # Factories and classes, not instances: each request gets fresh extension
        # objects, so concurrent requests never share an execution context.
        extensions=[
            lambda: AddValidationRules(depth_rules),
            lambda: AddValidationRules(alias_rules),
            lambda: AddValidationRules([CleanStringsRule]),
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            AccessGate,
            # after the gate: who may not run a query learns that, not its cost
            lambda: CostLimiter(max_cost=limits.max_query_cost),
            MaskInternalErrors,
        ],
    )


def schema_sdl() -> str:
    """The schema in SDL, as committed in `schema.graphql`."""
    return build_schema().as_str() + "\n"


__all__ = ["build_schema", "parse_date", "schema_sdl"]
