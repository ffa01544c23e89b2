"""Field-level permissions: which role may select which field. Default deny.

The check runs once per request on the parsed, validated document, before
anything executes: every selected field (in fragments too) must be allowed for
the caller's role, or the whole operation is refused with a precise error
naming the first field denied. A field missing from `POLICY` is denied to
everyone, and a unit test makes sure every field of the schema is listed.

The same walk tells which fields the request reads (for the audit entry) and
whether it touches person data (then a purpose is required).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    visit,
)

from cpgraph.security.roles import Role
from cpgraph.steward.policy import STEWARD_PERSON_DATA_ROOTS, STEWARD_POLICY

ALL = frozenset(Role)
# Full person data: investigators and data stewards.
CASEWORK = frozenset({Role.INVESTIGATOR, Role.DATA_STEWARD})
# The profile summary: also partner systems.
SUMMARY = CASEWORK | {Role.PARTNER_SYSTEM}
AUDIT = frozenset({Role.AUDITOR})
# Admins manage users from the command line; over the API they read no person data.

# Root fields that read person data: a purpose is required and an audit entry
# is written.
PERSON_DATA_ROOTS = (
    frozenset({"person", "record", "searchPeople", "network", "connections", "explainMatch"})
    | STEWARD_PERSON_DATA_ROOTS
)


def _fields(roles: frozenset[Role], *names: str) -> dict[str, frozenset[Role]]:
    return dict.fromkeys(names, roles)


POLICY: dict[str, dict[str, frozenset[Role]]] = {
    "Query": {
        "me": ALL,
        "person": SUMMARY,
        "searchPeople": SUMMARY,
        "record": CASEWORK,
        "network": CASEWORK,
        "connections": CASEWORK,
        "explainMatch": CASEWORK,
        "auditLog": AUDIT,
    },
    "Viewer": _fields(ALL, "name", "role"),
    "Person": {
        **_fields(
            SUMMARY,
            "id",
            "displayName",
            "datesOfBirth",
            "identifiers",
            "agencies",
            "timeline",
            "flags",
        ),
        **_fields(
            CASEWORK, "sourceRecords", "relationships", "household", "concerns", "possibleMatches"
        ),
    },
    # Possible matches name another person and the records behind the doubt: casework.
    "PossibleMatch": _fields(
        CASEWORK,
        "person",
        "probability",
        "reason",
        "evidence",
        "agencies",
        "weights",
        "candidateIds",
        "recordKeys",
    ),
    "WeightItem": _fields(CASEWORK, "comparison", "level", "weight"),
    # Record keys name agency records (police and prison included): casework only.
    "Identifier": {**_fields(SUMMARY, "scheme", "value", "valid"), "recordKeys": CASEWORK},
    "AgencyPresence": _fields(SUMMARY, "agency", "systems", "recordCount"),
    "SourceRecord": _fields(
        CASEWORK,
        "key",
        "system",
        "agency",
        "kind",
        "localId",
        "forename",
        "middleNames",
        "surname",
        "aliases",
        "dateOfBirth",
        "sex",
        "postcode",
        "address",
        "identifiers",
        "resolution",
        "person",
    ),
    "Resolution": _fields(CASEWORK, "probability", "method", "status"),
    "Relationship": _fields(
        CASEWORK, "type", "statedType", "fromDate", "toDate", "livesWith", "sources", "person"
    ),
    "TimelineEvent": {
        **_fields(
            SUMMARY,
            "id",
            "type",
            "category",
            "date",
            "agency",
            "system",
            "roles",
            "isConcern",
            "concernCategory",
        ),
        **_fields(CASEWORK, "summary", "recordKeys"),
    },
    "Concern": _fields(CASEWORK, "event", "relationship", "subject"),
    "SearchCandidate": {
        **_fields(SUMMARY, "score", "nameScore", "dateOfBirth", "postcode", "person"),
        "recordKeys": CASEWORK,
    },
    "Network": _fields(CASEWORK, "root", "nodes", "edges", "truncated"),
    "NetworkNode": _fields(CASEWORK, "id", "kind", "hops", "event", "person", "label"),
    "NetworkEdge": _fields(
        CASEWORK,
        "source",
        "target",
        "kind",
        "relationship",
        "livesWith",
        "fromDate",
        "toDate",
        "sources",
    ),
    "AuditEntry": _fields(
        AUDIT,
        "seq",
        "at",
        "user",
        "role",
        "action",
        "persons",
        "records",
        "fields",
        "purpose",
        "prevHash",
        "hash",
    ),
    # Safeguarding flags: partner systems see them with their reasons (no names or
    # free text) and the shape of the path (relationships and dates), never what
    # identifies the other people involved: the persons a hop reaches (`from`/`to`:
    # their name, identifiers, timeline), their events and event ids (ids carry
    # prison numbers and UPNs) or any record key. So a partner reaches a Person only
    # as the root `person` or a `searchPeople` candidate (tests/security/ walks
    # the schema to prove it).
    "Flag": _fields(
        SUMMARY, "id", "code", "title", "reason", "asOf", "computedAt", "confidence", "evidence"
    ),
    "FlagEvidence": {
        "path": SUMMARY,
        **_fields(CASEWORK, "eventIds", "events", "recordKeys"),
    },
    "PathHop": {
        **_fields(SUMMARY, "kind", "relationship", "livesWith", "fromDate", "toDate"),
        **_fields(CASEWORK, "from", "to", "events", "sources"),
    },
    "Connections": _fields(CASEWORK, "from", "to", "length", "paths", "truncated"),
    "PersonPath": _fields(CASEWORK, "length", "hops"),
    "MatchExplanation": _fields(
        CASEWORK,
        "comparisons",
        "priorWeight",
        "totalWeight",
        "probability",
        "deterministic",
        "cannotLink",
        "householdGuard",
        "samePerson",
        "summary",
        "modelRunId",
        "recordA",
        "recordB",
    ),
    "ComparisonWeight": _fields(
        CASEWORK, "comparison", "level", "m", "u", "weight", "tfAdjustment"
    ),
    # Pagination plumbing: whoever may read the list field may page through it.
    "PageInfo": _fields(ALL, "hasNextPage", "endCursor"),
}
for _type_name, _entries in STEWARD_POLICY.items():  # the steward API's fields
    POLICY.setdefault(_type_name, {}).update(_entries)
STRUCTURAL_SUFFIXES = ("Connection", "Edge")
STRUCTURAL_FIELDS = frozenset({"edges", "node", "cursor", "pageInfo", "totalCount"})


def allowed(type_name: str, field_name: str, role: Role) -> bool:
    """True when `role` may select `type_name.field_name` (default deny)."""
    if type_name.endswith(STRUCTURAL_SUFFIXES) and field_name in STRUCTURAL_FIELDS:
        return True
    return role in POLICY.get(type_name, {}).get(field_name, frozenset())


@dataclass(slots=True)
class DocumentAccess:
    """What an operation selects."""

    fields: set[str] = field(default_factory=set)
    roots: list[str] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    mutations: list[str] = field(default_factory=list)

    @property
    def reads_person_data(self) -> bool:
        return any(r in PERSON_DATA_ROOTS for r in self.roots)

    @property
    def needs_purpose(self) -> bool:
        """Person data is read, or something is changed: both need a stated purpose."""
        return self.reads_person_data or bool(self.mutations)


class _Walker(Visitor):
    def __init__(self, type_info: TypeInfo, role: Role, schema: GraphQLSchema) -> None:
        super().__init__()
        self.type_info = type_info
        self.role = role
        self.query_type = schema.query_type
        self.mutation_type = schema.mutation_type
        self.access = DocumentAccess()

    def enter_field(self, node: FieldNode, *_: object) -> None:
        parent = self.type_info.get_parent_type()
        name = node.name.value
        if parent is None or name.startswith("__"):
            return  # introspection (__typename, __schema, __type)
        parent_type = get_named_type(parent)
        if parent_type.name.startswith("__"):
            return
        qualified = f"{parent_type.name}.{name}"
        if parent_type is self.query_type and name not in self.access.roots:
            self.access.roots.append(name)
        if parent_type is self.mutation_type and name not in self.access.mutations:
            self.access.mutations.append(name)
        if not allowed(parent_type.name, name, self.role):
            self.access.denied.append(qualified)
        elif not parent_type.name.endswith(STRUCTURAL_SUFFIXES) and parent_type.name != "PageInfo":
            self.access.fields.add(qualified)


def inspect_document(schema: GraphQLSchema, document: DocumentNode, role: Role) -> DocumentAccess:
    """Walk a validated document: the fields it selects, its roots, what is denied.

    Args:
        schema: the graphql-core schema.
        document: the parsed, validated operation document.
        role: the caller's role.
    """
    type_info = TypeInfo(schema)
    walker = _Walker(type_info, role, schema)
    visit(document, TypeInfoVisitor(type_info, walker))
    return walker.access
