"""Mapping files: how one agency extract format becomes mentions, events and relationships.

A mapping is a TOML file under ``loaders/`` (see ``loaders/README.md``). The
engine interprets it; a new source-system variant is a new mapping file, not
new code. Mappings are checked when loaded, so a typo fails at start-up with
the file and entry named, never half-way through a load.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cpgraph.contract.spec import FIELD_LIMITS, max_length
from cpgraph.ingest.errors import MappingError, UnknownAgencyError
from cpgraph.ingest.normalise import parse_date, parse_datetime
from cpgraph.store.schema import RelType
from cpgraph.vocabulary import RELATIONSHIPS

#: Person-mention properties a mapping may fill from a column; the engine
#: knows how to normalise each (names, dates, identifiers...).
MENTION_FIELDS = frozenset(
    {
        "forename",
        "middle_names",
        "surname",
        "former_surname",
        "aliases",
        "dob",
        "sex",
        "address",
        "postcode",
        "nhs_number",
        "upn",
        "former_upn",
        "pnc_id",
        "cro_number",
        "prison_number",
        "booking_id",
    }
)

#: Edge types a mapping may ask for between a mention or event and an organisation.
MENTION_ORG_RELS = frozenset({RelType.ENROLLED_AT.value, RelType.HELD_AT.value})
EVENT_ORG_RELS = frozenset({RelType.RECORDED_BY.value})

_TEMPLATE_FIELD_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def template_fields(template: str) -> list[str]:
    """Column names a ``{column}`` template uses."""
    return _TEMPLATE_FIELD_RE.findall(template)


#: The contract field kind (``cpgraph.contract.spec.FIELD_LIMITS``) of each
#: mention property: a column a mapping maps onto one is bounded like it.
MENTION_FIELD_KINDS: dict[str, str] = {
    "forename": "name",
    "middle_names": "name",
    "surname": "name",
    "former_surname": "name",
    "aliases": "names",
    "dob": "code",
    "sex": "code",
    "address": "address",
    "postcode": "postcode",
    "nhs_number": "id",
    "upn": "id",
    "former_upn": "id",
    "pnc_id": "id",
    "cro_number": "id",
    "prison_number": "id",
    "booking_id": "id",
}


def column_limits(entry: EntryMapping) -> dict[str, int]:
    """The longest value each column of ``entry`` may hold (characters, trimmed).

    A column's limit is the contract's for its name
    (:func:`cpgraph.contract.spec.max_length`; free text when the contract does
    not name it), tightened by what the mapping does with it: a row id or a
    reference is an ``id``, a mention property or an event's address/postcode is
    bounded like that property. So a variant mapping with its own column names
    still cannot carry an unbounded value into a key or an index.
    """
    limits = {col: max_length(col) for col in entry.columns}

    def tighten(col: str | None, kind: str) -> None:
        if col in limits:
            limits[col] = min(limits[col], FIELD_LIMITS[kind])

    tighten(entry.id, "id")
    for ref in entry.refs:
        tighten(ref.column, "id")
    if entry.mention is not None:
        tighten(entry.mention.id, "id")
        for prop, col in entry.mention.fields.items():
            tighten(col, MENTION_FIELD_KINDS[prop])
    for ev in entry.events:
        tighten(ev.address, "address")
        tighten(ev.postcode, "postcode")
    return limits


def row_key_template(entry: EntryMapping) -> str | None:
    """The template naming what one row of ``entry`` is: two rows of one file with the
    same key are duplicates (quarantined, ``duplicate_key``).

    The mapping's own ``row_key`` if it gives one; else the mention's id, unless the
    row's event is named without it (visits: one row per visitor per visit, the same
    visitor on many visits, many visitors on one visit), when the row is the pair
    (event id, mention id); else the first event's id. Files of links only
    (involvements, stated relationships) have none: a repeated link is the same link.
    """
    if entry.row_key is not None:
        return entry.row_key or None
    mention = entry.mention
    event = entry.events[0] if entry.events else None
    if mention is not None:
        own = "{" + mention.id + "}"
        if event is None or mention.id in template_fields(event.id):
            return own
        return f"{event.id}:{own}"
    return event.id if event is not None else None


def row_key_reader(
    entry: EntryMapping, header: list[str] | None = None
) -> Callable[[Any], str | None] | None:
    """A function giving a row's key (see :func:`row_key_template`), or None if rows have none.

    The key is read as the loader reads the row: values trimmed, upper-cased
    columns upper-cased, dates and date-times in their parsed form, so `` N1 ``
    and ``N1`` (or ``02/03/2020`` and ``2020-03-02``) are the same key.

    Args:
        entry: the file's (or resource type's) mapping.
        header: CSV: the trimmed header; the function then takes the row's field
            list. None: the function takes a ``{column: value}`` mapping (FHIR cells).

    Returns:
        ``key(row) -> str | None`` (None when a column the key needs is empty).
    """
    template = row_key_template(entry)
    if template is None:
        return None
    columns = template_fields(template)
    pieces = _TEMPLATE_FIELD_RE.split(template)
    position = {col: i for i, col in enumerate(header or ())}  # the last wins, as in loading
    if header is not None and any(col not in position for col in columns):
        return None  # a required id column is missing: refused elsewhere

    def value(col: str, raw: Any) -> str | None:
        text = raw.strip() if isinstance(raw, str) else None
        if not text:
            return None
        if col in entry.upper:
            text = text.upper()
        if col in entry.dates:
            text = parse_date(text) or text
        elif col in entry.datetimes:
            text = parse_datetime(text) or text
        return text

    def key(row: Any) -> str | None:
        out = [pieces[0]]
        for n, col in enumerate(columns):
            if header is not None:
                i = position[col]
                raw = row[i] if i < len(row) else None
            else:
                raw = row.get(col)
            v = value(col, raw)
            if v is None:
                return None
            out.append(v)
            out.append(pieces[2 * n + 2])
        return "".join(out)

    return key


@dataclass(frozen=True, slots=True)
class RecordRef:
    """A person mention named by a row: its kind and the column holding its local id."""

    kind: str
    id: str


@dataclass(frozen=True, slots=True)
class OrgLink:
    """An organisation a row names (a school, a prison, a council) and the edge to it."""

    type: str
    id: str  # template
    rel: str
    name: str | None = None  # column holding the display name


@dataclass(frozen=True, slots=True)
class MentionSpec:
    """The person mention a row describes."""

    kind: str
    id: str
    fields: dict[str, str]
    facts: dict[str, str]
    organisation: OrgLink | None = None


@dataclass(frozen=True, slots=True)
class ConcernRule:
    """When an event is a safeguarding concern, and with which category.

    All conditions must hold: ``when`` column values (as loaded: strings or
    booleans) and ``contains`` keywords (casefolded substrings of a text column).
    """

    category: str  # template
    when: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    contains: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Involvement:
    """A mention involved in an event, with a role."""

    record: RecordRef
    role: str  # template
    event_type: str | None = None  # standalone involvements name their event
    event_id: str | None = None  # template
    optional: bool = False  # an id that resolves nowhere drops the link (warning)


@dataclass(frozen=True, slots=True)
class EventSpec:
    """An event a row describes."""

    type: str
    id: str  # template
    date: str | None = None
    end_date: str | None = None
    category: str | None = None  # template
    category_vocabulary: str | None = None
    requires: tuple[str, ...] = ()
    facts: dict[str, str] = field(default_factory=dict)
    concerns: tuple[ConcernRule, ...] = ()
    address: str | None = None
    postcode: str | None = None
    organisation: OrgLink | None = None
    involved: tuple[Involvement, ...] = ()


@dataclass(frozen=True, slots=True)
class RelationshipSpec:
    """A relationship stated by one row: ``to`` is ``relationship`` of ``from``."""

    source: RecordRef
    target: RecordRef
    vocabulary: str
    source_key: str  # template
    relationship: str | None = None  # column
    text: str | None = None  # free-text column tried when the coded value is absent
    text_vocabulary: str | None = None
    default: str | None = None
    lives_with: str | None = None
    from_date: str | None = None
    to_date: str | None = None
    optional: bool = False


@dataclass(frozen=True, slots=True)
class GroupRelationshipSpec:
    """Relationships stated within a group of rows (police: relationship to the victim).

    Within each ``group`` (e.g. one occurrence), every member row with a
    ``relationship`` value relates to every anchor row (``anchor_column`` equal
    to ``anchor_value``): anchor → member with the mapped relationship.
    """

    group: str
    anchor_column: str
    anchor_value: str
    member: RecordRef
    relationship: str
    vocabulary: str
    source_key: str  # template over the group column, plus {anchor} and {member}


@dataclass(frozen=True, slots=True)
class RefSpec:
    """A column holding the id of a row of another entry of the same extract."""

    column: str
    entry: str
    required: bool


@dataclass(frozen=True, slots=True)
class EntryMapping:
    """One file (CSV) or one resource type (FHIR) of an extract format."""

    name: str
    columns: tuple[str, ...]
    required: frozenset[str]
    resource: str | None = None
    paths: dict[str, str] = field(default_factory=dict)
    id: str | None = None
    upper: frozenset[str] = frozenset()
    dates: frozenset[str] = frozenset()
    datetimes: frozenset[str] = frozenset()
    booleans: frozenset[str] = frozenset()
    integers: frozenset[str] = frozenset()
    lists: dict[str, str] = field(default_factory=dict)
    enums: dict[str, frozenset[str]] = field(default_factory=dict)
    refs: tuple[RefSpec, ...] = ()
    mention: MentionSpec | None = None
    events: tuple[EventSpec, ...] = ()
    involvements: tuple[Involvement, ...] = ()
    relationships: tuple[RelationshipSpec, ...] = ()
    group_relationships: tuple[GroupRelationshipSpec, ...] = ()
    row_key: str | None = None  # template naming what one row is; see row_key_template


@dataclass(frozen=True, slots=True)
class Mapping:
    """One extract format: its agency, file layout and how rows become graph facts."""

    agency: str
    format: str  # "csv" or "fhir"
    organisation_type: str
    entries: tuple[EntryMapping, ...]
    vocabularies: dict[str, dict[str, str]]
    path: Path
    systems: tuple[str, ...] = ()
    default: bool = True
    bundle_glob: str = "bundles/*.json"

    def entry(self, name: str) -> EntryMapping:
        """Return the entry (file or resource type) called ``name``."""
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(name)

    @property
    def file_names(self) -> tuple[str, ...]:
        """The file names a CSV format lists (empty for FHIR)."""
        return tuple(e.name for e in self.entries) if self.format == "csv" else ()


def default_loaders_dir() -> Path:
    """Return the ``loaders/`` folder shipped with cpgraph (repository top level)."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "loaders", here.parents[1] / "loaders"):
        if candidate.is_dir():
            return candidate
    raise MappingError("cannot find the loaders/ mapping folder")


# -- parsing ------------------------------------------------------------------------


class _Ctx:
    """Where we are in a mapping file, for error messages."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, why: str) -> MappingError:
        return MappingError(f"{self.path.name}: {where}: {why}")


def _str(ctx: _Ctx, data: dict[str, Any], key: str, where: str, default: Any = ...) -> Any:
    value = data.get(key, default)
    if value is ...:
        raise ctx.fail(where, f"missing {key!r}")
    if value is not None and not isinstance(value, str):
        raise ctx.fail(where, f"{key!r} must be a string")
    return value


def _record_ref(ctx: _Ctx, data: Any, where: str) -> RecordRef:
    if not isinstance(data, dict):
        raise ctx.fail(where, "expected a table {kind, id}")
    return RecordRef(kind=_str(ctx, data, "kind", where), id=_str(ctx, data, "id", where))


def _org(ctx: _Ctx, data: Any, where: str, allowed: frozenset[str]) -> OrgLink | None:
    if data is None:
        return None
    rel = _str(ctx, data, "rel", where)
    if rel not in allowed:
        raise ctx.fail(where, f"organisation rel must be one of {sorted(allowed)}")
    return OrgLink(
        type=_str(ctx, data, "type", where),
        id=_str(ctx, data, "id", where),
        rel=rel,
        name=_str(ctx, data, "name", where, None),
    )


def _involvement(ctx: _Ctx, data: dict[str, Any], where: str, standalone: bool) -> Involvement:
    inv = Involvement(
        record=_record_ref(ctx, data.get("record"), where),
        role=_str(ctx, data, "role", where),
        event_type=_str(ctx, data, "event_type", where, None),
        event_id=_str(ctx, data, "event_id", where, None),
        optional=bool(data.get("optional", False)),
    )
    if standalone and (inv.event_type is None or inv.event_id is None):
        raise ctx.fail(where, "a standalone involvement needs event_type and event_id")
    return inv


def _concern(ctx: _Ctx, data: dict[str, Any], where: str) -> ConcernRule:
    when = {k: tuple(v) for k, v in (data.get("when") or {}).items()}
    contains = {k: tuple(s.casefold() for s in v) for k, v in (data.get("contains") or {}).items()}
    return ConcernRule(category=_str(ctx, data, "category", where), when=when, contains=contains)


def _event(ctx: _Ctx, data: dict[str, Any], where: str) -> EventSpec:
    return EventSpec(
        type=_str(ctx, data, "type", where),
        id=_str(ctx, data, "id", where),
        date=_str(ctx, data, "date", where, None),
        end_date=_str(ctx, data, "end_date", where, None),
        category=_str(ctx, data, "category", where, None),
        category_vocabulary=_str(ctx, data, "category_vocabulary", where, None),
        requires=tuple(data.get("requires", ())),
        facts=dict(data.get("facts", {})),
        concerns=tuple(
            _concern(ctx, c, f"{where}.concerns[{i}]")
            for i, c in enumerate(data.get("concerns", ()))
        ),
        address=_str(ctx, data, "address", where, None),
        postcode=_str(ctx, data, "postcode", where, None),
        organisation=_org(ctx, data.get("organisation"), where, EVENT_ORG_RELS),
        involved=tuple(
            _involvement(ctx, inv, f"{where}.involved[{i}]", standalone=False)
            for i, inv in enumerate(data.get("involved", ()))
        ),
    )


def _relationship(ctx: _Ctx, data: dict[str, Any], where: str) -> RelationshipSpec:
    return RelationshipSpec(
        source=_record_ref(ctx, data.get("from"), where),
        target=_record_ref(ctx, data.get("to"), where),
        vocabulary=_str(ctx, data, "vocabulary", where),
        source_key=_str(ctx, data, "source_key", where),
        relationship=_str(ctx, data, "relationship", where, None),
        text=_str(ctx, data, "text", where, None),
        text_vocabulary=_str(ctx, data, "text_vocabulary", where, None),
        default=_str(ctx, data, "default", where, None),
        lives_with=_str(ctx, data, "lives_with", where, None),
        from_date=_str(ctx, data, "from_date", where, None),
        to_date=_str(ctx, data, "to_date", where, None),
        optional=bool(data.get("optional", False)),
    )


def _group(ctx: _Ctx, data: dict[str, Any], where: str) -> GroupRelationshipSpec:
    anchor = data.get("anchor") or {}
    return GroupRelationshipSpec(
        group=_str(ctx, data, "group", where),
        anchor_column=_str(ctx, anchor, "column", f"{where}.anchor"),
        anchor_value=_str(ctx, anchor, "value", f"{where}.anchor"),
        member=_record_ref(ctx, data.get("member"), where),
        relationship=_str(ctx, data, "relationship", where),
        vocabulary=_str(ctx, data, "vocabulary", where),
        source_key=_str(ctx, data, "source_key", where),
    )


def _entry(ctx: _Ctx, data: dict[str, Any], fmt: str) -> EntryMapping:
    name = _str(ctx, data, "name", "entry")
    where = f"entry {name!r}"
    paths = dict(data.get("paths", {}))
    columns = tuple(paths) if fmt == "fhir" else tuple(data.get("columns", ()))
    if not columns:
        raise ctx.fail(where, "no columns (CSV) / paths (FHIR)")
    mention = None
    if (m := data.get("mention")) is not None:
        fields = dict(m.get("fields", {}))
        unknown = set(fields) - MENTION_FIELDS
        if unknown:
            raise ctx.fail(f"{where}.mention", f"unknown mention fields {sorted(unknown)}")
        mention = MentionSpec(
            kind=_str(ctx, m, "kind", f"{where}.mention"),
            id=_str(ctx, m, "id", f"{where}.mention"),
            fields=fields,
            facts=dict(m.get("facts", {})),
            organisation=_org(ctx, m.get("organisation"), f"{where}.mention", MENTION_ORG_RELS),
        )
    return EntryMapping(
        name=name,
        columns=columns,
        required=frozenset(data.get("required", ())),
        resource=_str(ctx, data, "resource", where, None),
        paths=paths,
        id=_str(ctx, data, "id", where, None),
        upper=frozenset(data.get("upper", ())),
        dates=frozenset(data.get("dates", ())),
        datetimes=frozenset(data.get("datetimes", ())),
        booleans=frozenset(data.get("booleans", ())),
        integers=frozenset(data.get("integers", ())),
        lists=dict(data.get("lists", {})),
        enums={k: frozenset(v) for k, v in data.get("enums", {}).items()},
        refs=tuple(
            RefSpec(r["column"], r["entry"], bool(r.get("required", True)))
            for r in data.get("refs", ())
        ),
        mention=mention,
        events=tuple(
            _event(ctx, e, f"{where}.events[{i}]") for i, e in enumerate(data.get("events", ()))
        ),
        involvements=tuple(
            _involvement(ctx, inv, f"{where}.involvements[{i}]", standalone=True)
            for i, inv in enumerate(data.get("involvements", ()))
        ),
        relationships=tuple(
            _relationship(ctx, r, f"{where}.relationships[{i}]")
            for i, r in enumerate(data.get("relationships", ()))
        ),
        group_relationships=tuple(
            _group(ctx, g, f"{where}.group_relationships[{i}]")
            for i, g in enumerate(data.get("group_relationships", ()))
        ),
        row_key=_str(ctx, data, "row_key", where, None),
    )


def _check(ctx: _Ctx, mapping: Mapping) -> None:
    """Cross-check a parsed mapping: every column named exists, vocabularies are canonical."""
    for name, vocab in mapping.vocabularies.items():
        if name.endswith("_relationship") or name.startswith("relationship"):
            bad = {v for v in vocab.values() if v and v not in RELATIONSHIPS}
            if bad:
                raise ctx.fail(f"vocabulary {name!r}", f"non-canonical values {sorted(bad)}")
    seen: list[str] = []
    for e in mapping.entries:
        where = f"entry {e.name!r}"
        cols = set(e.columns) | {"system"}

        def need(col: str | None, what: str, cols: set[str] = cols, where: str = where) -> None:
            if col is not None and col not in cols:
                raise ctx.fail(where, f"{what} names unknown column {col!r}")

        for col in (
            (e.required | e.upper | e.dates | e.datetimes | e.booleans | e.integers)
            | set(e.lists)
            | set(e.enums)
        ):
            need(col, "a column list")
        need(e.id, "id")
        for ref in e.refs:
            need(ref.column, "a ref")
            if ref.entry not in seen:
                raise ctx.fail(where, f"ref to {ref.entry!r}, which is not an earlier entry")
        if e.mention:
            need(e.mention.id, "mention.id")
            for col in [*e.mention.fields.values(), *e.mention.facts.values()]:
                need(col, "mention")
            if e.mention.organisation:
                for col in template_fields(e.mention.organisation.id):
                    need(col, "organisation.id")
                need(e.mention.organisation.name, "organisation.name")
        for ev in e.events:
            for col in [*template_fields(ev.id), *template_fields(ev.category or "")]:
                need(col, f"event {ev.type!r} template")
            for col in [ev.date, ev.end_date, ev.address, ev.postcode, *ev.requires]:
                need(col, f"event {ev.type!r}")
            for col in ev.facts.values():
                need(col, f"event {ev.type!r} facts")
            for rule in ev.concerns:
                for col in [*rule.when, *rule.contains, *template_fields(rule.category)]:
                    need(col, f"event {ev.type!r} concern")
            if ev.category_vocabulary and ev.category_vocabulary not in mapping.vocabularies:
                raise ctx.fail(where, f"unknown vocabulary {ev.category_vocabulary!r}")
            for inv in ev.involved:
                need(inv.record.id, "involved.record.id")
        for inv in e.involvements:
            need(inv.record.id, "involvement.record.id")
            for col in template_fields(inv.event_id or "") + template_fields(inv.role):
                need(col, "involvement template")
        for rel in e.relationships:
            need(rel.source.id, "relationship.from.id")
            need(rel.target.id, "relationship.to.id")
            for col in (rel.relationship, rel.text, rel.lives_with, rel.from_date, rel.to_date):
                need(col, "relationship")
            for vocab in (rel.vocabulary, rel.text_vocabulary):
                if vocab is not None and vocab not in mapping.vocabularies:
                    raise ctx.fail(where, f"unknown vocabulary {vocab!r}")
            if rel.default is not None and rel.default not in RELATIONSHIPS:
                raise ctx.fail(where, f"default relationship {rel.default!r} is not canonical")
        for grp in e.group_relationships:
            for col in (grp.group, grp.anchor_column, grp.member.id, grp.relationship):
                need(col, "group relationship")
            if grp.vocabulary not in mapping.vocabularies:
                raise ctx.fail(where, f"unknown vocabulary {grp.vocabulary!r}")
        seen.append(e.name)


def load_mapping(path: Path) -> Mapping:
    """Read and check one mapping file.

    Raises:
        MappingError: the file is not valid TOML or does not describe a format.
    """
    ctx = _Ctx(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ctx.fail("file", f"cannot read: {exc}") from exc
    fmt = data.get("format")
    if fmt not in ("csv", "fhir"):
        raise ctx.fail("format", "must be 'csv' or 'fhir'")
    try:
        mapping = Mapping(
            agency=_str(ctx, data, "agency", "top level"),
            format=fmt,
            organisation_type=_str(ctx, data, "organisation_type", "top level"),
            entries=tuple(_entry(ctx, e, fmt) for e in data.get("entries", ())),
            vocabularies={k: dict(v) for k, v in data.get("vocabularies", {}).items()},
            path=path,
            systems=tuple(data.get("systems", ())),
            default=bool(data.get("default", not data.get("systems"))),
            bundle_glob=data.get("bundle_glob", "bundles/*.json"),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ctx.fail("structure", f"{type(exc).__name__}: {exc}") from exc
    if not mapping.entries:
        raise ctx.fail("entries", "no entries")
    _check(ctx, mapping)
    return mapping


@cache
def load_mappings(folder: Path | None = None) -> tuple[Mapping, ...]:
    """Read every ``*.toml`` mapping in ``folder`` (default: the shipped ``loaders/``)."""
    folder = folder or default_loaders_dir()
    return tuple(load_mapping(p) for p in sorted(folder.glob("*.toml")))


def mapping_for(agency: str, system: str, folder: Path | None = None) -> Mapping:
    """Pick the mapping for an extract: one listing its system, else the agency's default.

    Raises:
        UnknownAgencyError: no mapping serves that agency.
    """
    mappings = [m for m in load_mappings(folder) if m.agency == agency]
    for m in mappings:
        if system in m.systems:
            return m
    for m in mappings:
        if m.default:
            return m
    raise UnknownAgencyError("no loader mapping for the agency named in manifest.json")
