"""API limits: query size and cost, page sizes, time, request rate and body size.

Read from `Settings` when it has the `api_*` fields, else the defaults here.

The query cost is estimated from the parsed document before anything runs: each
field costs 1 plus its sub-selection times its page size (`first`, or the argument's
default), so aliases, page sizes and nesting multiply; `network` costs its node cap
times its depth times (a traversal weight plus its sub-selection), whatever it
selects, because its path query runs in full either way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension

from cpgraph.graphql.errors import QueryTooCostlyError

# Per node a network walk matches paths and computes hops: weighted above a plain field.
NETWORK_NODE_WEIGHT = 10


@dataclass(frozen=True, slots=True)
class ApiLimits:
    """Limits that protect the API from abusive or accidental huge queries."""

    max_depth: int = 12
    max_aliases: int = 15
    max_tokens: int = 2000
    max_page_size: int = 100
    max_network_nodes: int = 500
    max_network_depth: int = 3
    request_timeout_s: float = 10.0
    # estimated cost per request (see the module docstring); 0 turns the check off
    max_query_cost: int = 100_000
    # per bearer token, per process: sustained requests per second and burst; 0 = off
    rate_limit_per_s: float = 20.0
    rate_limit_burst: int = 40
    max_body_bytes: int = 1024 * 1024
    # refused requests are counted, then written to the audit chain in aggregate: one
    # entry per (who, role, code, what) per window, at most this many keys per window
    refusal_audit_window_s: float = 5.0
    refusal_audit_max_keys: int = 100

    @classmethod
    def from_settings(cls, settings: Any) -> ApiLimits:
        """Take each limit from `settings.api_<name>` when present."""
        defaults = cls()
        values = {
            name: getattr(settings, f"api_{name}", getattr(defaults, name))
            for name in cls.__dataclass_fields__
        }
        return cls(**values)


class _CostWalk:
    """The cost estimate of one operation (fragments expanded, variables applied)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        defaults: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = defaults

    def _int_arg(self, node: FieldNode, field: GraphQLField | None, name: str) -> int | None:
        for arg in node.arguments or ():
            if arg.name.value != name:
                continue
            value = arg.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value, self.defaults.get(value.name.value))
                if isinstance(given, int) and not isinstance(given, bool):
                    return given
            break
        if field is not None and name in field.args:
            default = field.args[name].default_value
            if isinstance(default, int) and not isinstance(default, bool):
                return default
        return None

    def selection(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        seen: frozenset,
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                total += self.field(sel, parent, seen)
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                target = self.schema.get_type(cond.name.value) if cond else parent
                total += self.selection(sel.selection_set, target, seen)
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                frag = self.fragments.get(name)
                if frag is None or name in seen:  # validation refuses cycles; be safe anyway
                    continue
                target = self.schema.get_type(frag.type_condition.name.value)
                total += self.selection(frag.selection_set, target, seen | {name})
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, seen: frozenset) -> int:
        field: GraphQLField | None = None
        if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            field = parent.fields.get(node.name.value)
        child_type = get_named_type(field.type) if field is not None else None
        children = self.selection(node.selection_set, child_type, seen)
        first = self._int_arg(node, field, "first")
        if node.name.value == "network" and field is not None:
            depth = self._int_arg(node, field, "depth") or 1
            return 1 + max(first or 1, 1) * max(depth, 1) * (NETWORK_NODE_WEIGHT + children)
        return 1 + max(first or 1, 1) * children


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """Estimate the cost of the operation `operation_name` of `document` (see module doc).

    Args:
        schema: the graphql-core schema.
        document: the parsed (and validated) document.
        operation_name: the operation to run (default: the only one).
        variables: the request's variables (absent ones take their defaults).
    """
    fragments: dict[str, FragmentDefinitionNode] = {}
    operations: list[OperationDefinitionNode] = []
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments[definition.name.value] = definition
        elif isinstance(definition, OperationDefinitionNode):
            operations.append(definition)
    chosen = [
        op
        for op in operations
        if operation_name is None or (op.name is not None and op.name.value == operation_name)
    ]
    if not chosen:
        return 0  # graphql-core answers for an unknown operation
    op = chosen[0]
    defaults: dict[str, Any] = {}
    for definition in op.variable_definitions or ():
        if isinstance(definition.default_value, IntValueNode):
            defaults[definition.variable.name.value] = int(definition.default_value.value)
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[op.operation]
    walk = _CostWalk(schema, fragments, variables or {}, defaults)
    return walk.selection(op.selection_set, root, frozenset())


def clean_text(value: str) -> bool:
    """No NUL and no unpaired surrogate: the store cannot take them (a NUL in a query
    parameter fails the query) and no field of ours holds them."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class CleanStringsRule(ValidationRule):
    """Refuse a string literal holding a NUL or an unpaired surrogate (a GraphQL escape
    such as ``"\\u0000"`` decodes to one; the HTTP guard already refuses them raw
    and in variables): ``BAD_USER_INPUT`` before anything runs."""

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if not clean_text(node.value):
            self.report_error(
                GraphQLError(
                    "an argument contains a NUL or an unpaired surrogate",
                    node,
                    extensions={"code": "BAD_USER_INPUT"},
                )
            )


class CostLimiter(SchemaExtension):
    """Before execution: refuse an operation whose estimated cost is over the budget."""

    def __init__(self, *, max_cost: int) -> None:
        """Refuse operations costing more than `max_cost` (0: never)."""
        self.max_cost = max_cost

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        ec = self.execution_context
        if self.max_cost > 0 and ec.graphql_document is not None and ec.result is None:
            variables = ec.variables if isinstance(ec.variables, Mapping) else {}
            cost = query_cost(ec.schema._schema, ec.graphql_document, ec.operation_name, variables)  # noqa: SLF001
            if cost > self.max_cost:
                error = QueryTooCostlyError(cost, self.max_cost)
                ec.result = ExecutionResult(
                    data=None, errors=[GraphQLError(str(error), original_error=error)]
                )
        yield
