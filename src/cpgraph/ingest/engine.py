"""The ingest engine: check an extract, then stream it into the graph store.

A load runs in two phases:

1. :func:`prepare_extract` checks everything that would make the whole extract
   unusable — the manifest, the mapping, every file's header, encoding, CSV
   structure and field sizes — *before anything is written*. It raises an
   :class:`~cpgraph.errors.IngestError` subclass with a clear message (file,
   line, field; never a cell value).
2. :func:`load_extract` streams each file row by row (FHIR: one bundle at a
   time): validates, normalises, quarantines bad rows, and writes batched
   ``UNWIND`` upserts. Reading and normalising run in a worker thread while the
   event loop sends the previous batch, so the database and Python work at once.

Every write is a MERGE keyed by a stable identity (record key, event id,
relationship source key, quarantine line), and the load id is derived from the
extract itself (``{system}@{extracted_at}``), so re-running a load — after a
crash, a Ctrl-C or just again — ends in the same graph.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import queue
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from operator import itemgetter
from pathlib import Path
from typing import Any, Protocol

from cpgraph.errors import IngestError, StoreUnavailableError
from cpgraph.ingest import supersede
from cpgraph.ingest.errors import (
    ExtractFileError,
    ManifestError,
    MissingColumnsError,
    StaleExtractError,
    WrongAgencyError,
)
from cpgraph.ingest.mapping import (
    MENTION_FIELD_KINDS,
    EntryMapping,
    EventSpec,
    Mapping,
    column_limits,
    load_mappings,
    mapping_for,
    row_key_reader,
    row_key_template,
    template_fields,
)
from cpgraph.ingest.normalise import (
    clean_text,
    display_name,
    fold_code,
    name_order,
    normalise_code,
    normalise_nhs_number,
    normalise_pnc_id,
    normalise_postcode,
    normalise_upn,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_int,
    split_list,
    utc_timestamp,
)
from cpgraph.ingest.owner import this_process
from cpgraph.ingest.readers import MAX_FIELD_CHARS, iter_csv, json_cut_short, read_header, scan_csv
from cpgraph.ingest.report import LoadReport
from cpgraph.ingest.supersede import Supersession
from cpgraph.ingest.writer import EVENT_FACT_SLOTS, FACT_SLOTS, Batch, Buffers, write_batch
from cpgraph.keys import AGENCIES, event_id, record_key
from cpgraph.store import GraphStore
from cpgraph.text import match_name

_SYSTEM_RE = re.compile(r"^[a-z0-9-]{2,40}$")
#: How far ahead of this machine's clock a manifest's `extracted_at` may be.
MAX_CLOCK_SKEW = timedelta(minutes=5)
_TEMPLATE_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
#: Raw content kept for a quarantined row / bundle (characters).
MAX_RAW_CHARS = 1 << 20
_SEX_WORDS = {"male": "M", "female": "F", "other": "X", "unknown": "U"}
_SEXES = frozenset({"M", "F", "U", "X"})
_FACT_SLOT_SET = frozenset(FACT_SLOTS)
_EVENT_FACT_SLOT_SET = frozenset(EVENT_FACT_SLOTS)

ProgressFn = Callable[[str, int, int], None]
"""Progress callback: ``(system, rows done, rows expected)`` after each batch."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- phase 1: checking the extract ---------------------------------------------------


@dataclass(slots=True)
class ExtractPlan:
    """A checked extract, ready to load.

    Attributes:
        folder: the extract folder.
        system / agency / organisation: from the manifest.
        extracted_at: the manifest's ``extracted_at`` in UTC (``...Z``).
        mapping: the loader mapping picked for it.
        csv_files: entry name -> path, for listed CSV files that are present.
        bundles: FHIR bundle files, sorted.
        rows: rows (CSV records or bundle files) found by the pre-scan.
        notes: extract-level warnings (unknown files and columns...).
    """

    folder: Path
    system: str
    agency: str
    organisation: str
    extracted_at: str
    mapping: Mapping
    csv_files: dict[str, Path] = field(default_factory=dict)
    bundles: list[Path] = field(default_factory=list)
    rows: int = 0
    notes: Counter[str] = field(default_factory=Counter)
    max_field: int = MAX_FIELD_CHARS
    # CSV entry name -> row keys found on more than one row (all such rows are quarantined)
    duplicates: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def load_id(self) -> str:
        """The load's id: the same extract always gets the same id."""
        return f"{self.system}@{self.extracted_at}"


def _inside(folder: Path, path: Path) -> None:
    """Refuse a path that leads out of the extract folder (a symbolic link elsewhere)."""
    if path.is_symlink() and not path.resolve().is_relative_to(folder.resolve()):
        raise ExtractFileError(f"{folder}: {path.name} links outside the extract folder: refused")


def _bundle_files(folder: Path, mapping: Mapping) -> tuple[Path, list[Path]]:
    """A FHIR extract's bundle folder and its bundle files, sorted (none if no folder)."""
    bundle_dir = folder / Path(mapping.bundle_glob).parent
    if not bundle_dir.is_dir():
        return bundle_dir, []
    pattern = Path(mapping.bundle_glob).name
    return bundle_dir, sorted(p for p in bundle_dir.glob(pattern) if p.is_file())


def _read_manifest(folder: Path) -> dict[str, str]:
    path = folder / "manifest.json"
    if not path.is_file():
        raise ManifestError(f"{folder}: no manifest.json — not an extract folder")
    _inside(folder, path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except RecursionError:
        raise ManifestError(f"{folder}: manifest.json is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{folder}: manifest.json is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{folder}: manifest.json is not a JSON object")
    agency = data.get("agency")
    if agency not in AGENCIES:
        raise ManifestError(
            f"{folder}: manifest.json 'agency' must be one of {', '.join(AGENCIES)}"
        )
    system = data.get("system")
    if not isinstance(system, str) or not _SYSTEM_RE.match(system):
        raise ManifestError(f"{folder}: manifest.json 'system' must match [a-z0-9-]{{2,40}}")
    organisation = data.get("organisation")
    if not isinstance(organisation, str) or not organisation.strip():
        raise ManifestError(f"{folder}: manifest.json 'organisation' is missing or empty")
    extracted = data.get("extracted_at")
    stamp = utc_timestamp(extracted) if isinstance(extracted, str) else None
    if stamp is None:
        raise ManifestError(f"{folder}: manifest.json 'extracted_at' is not an ISO 8601 date-time")
    # a date in the future (a wrong clock, a typo) would make every real extract of the
    # system look older than it, and so refused: refuse it instead
    latest = datetime.now(UTC) + MAX_CLOCK_SKEW
    if datetime.fromisoformat(stamp) > latest:
        raise ManifestError(
            f"{folder}: manifest.json 'extracted_at' ({stamp}) is in the future: refused"
        )
    return {
        "agency": agency,
        "system": system,
        "organisation": organisation.strip(),
        "extracted_at": stamp,
    }


def _declared_files(folder: Path) -> dict[str, tuple[int | None, str | None]]:
    """The manifest's optional ``files`` list: name → (rows, sha256), checked for shape."""
    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8-sig"))
    listed = data.get("files")
    if listed is None:
        return {}
    bad = ManifestError(
        f"{folder}: manifest.json 'files' must be a list of {{name, rows, sha256}} objects"
    )
    if not isinstance(listed, list):
        raise bad
    out: dict[str, tuple[int | None, str | None]] = {}
    for item in listed:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise bad
        rows, digest = item.get("rows"), item.get("sha256")
        if (rows is not None and (not isinstance(rows, int) or rows < 0)) or (
            digest is not None and not (isinstance(digest, str) and len(digest) == 64)
        ):
            raise bad
        out[item["name"]] = (rows, digest.lower() if digest else None)
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _bundle_resources(path: Path) -> int | None:
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    entries = data.get("entry") if isinstance(data, dict) else None
    return len(entries) if isinstance(entries, list) else None


def _check_declared(
    folder: Path,
    declared: dict[str, tuple[int | None, str | None]],
    rows_of: dict[str, Callable[[], int | None]],
) -> None:
    """Refuse the extract when a file the manifest lists is missing, truncated or altered.

    Args:
        folder: the extract folder.
        declared: the manifest's ``files`` (see `_declared_files`).
        rows_of: relative name → a function counting the file's data rows (CSV) or
            resources (a FHIR bundle).

    Raises:
        ExtractFileError: the first file that is not what the manifest says.
    """
    for name, (rows, digest) in sorted(declared.items()):
        path = folder / name
        if not path.is_file():
            raise ExtractFileError(f"{folder}: {name} is listed in the manifest but absent")
        if digest is not None and _sha256(path) != digest:
            raise ExtractFileError(
                f"{folder}: {name} does not match the manifest's sha256 (altered or "
                "truncated): refused"
            )
        count = rows_of[name]() if rows is not None and name in rows_of else None
        if rows is not None and count != rows:
            raise ExtractFileError(
                f"{folder}: {name} has {count if count is not None else 'no readable'} rows, "
                f"the manifest says {rows}: refused"
            )


def _other_format_hint(names: Iterable[str], mapping: Mapping, loaders_dir: Path | None) -> str:
    names = set(names)
    for other in load_mappings(loaders_dir):
        if other.agency == mapping.agency:
            continue
        if other.format == "csv" and names & set(other.file_names):
            return f" (its files look like a {other.agency} extract)"
        if other.format == "fhir" and "bundles" in names:
            return f" (its files look like a {other.agency} extract)"
    return ""


def prepare_extract(
    folder: Path | str, *, loaders_dir: Path | None = None, max_field: int = MAX_FIELD_CHARS
) -> ExtractPlan:
    """Check an extract folder completely, writing nothing.

    Reads the manifest, picks the mapping, and scans every present file: CSV
    headers (required columns present, unknown ones noted), UTF-8 text, CSV
    quoting and field sizes; for health, that ``bundles/`` holds the files.

    Args:
        folder: the extract folder (holding ``manifest.json``).
        loaders_dir: mapping folder (default: the shipped ``loaders/``).
        max_field: the largest CSV field accepted, in characters.

    Returns:
        The plan :func:`load_extract` executes.

    Raises:
        IngestError: a subclass saying why the extract is unusable.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise IngestError(f"{folder}: not a folder")
    manifest = _read_manifest(folder)
    declared = _declared_files(folder)
    mapping = mapping_for(manifest["agency"], manifest["system"], loaders_dir)
    plan = ExtractPlan(folder=folder, mapping=mapping, max_field=max_field, **manifest)
    counted: dict[str, int] = {}
    present = sorted(p.name for p in folder.iterdir() if p.name != "manifest.json")
    for name in present:
        _inside(folder, folder / name)
    if mapping.format == "csv":
        listed = set(mapping.file_names)
        for name in present:
            if name not in listed:
                plan.notes[f"unknown_file:{name}"] += 1
        if present and not listed & set(present):
            raise WrongAgencyError(
                f"{folder}: none of the files of a {mapping.agency} extract is present"
                + _other_format_hint(present, mapping, loaders_dir)
            )
        for entry in mapping.entries:
            path = folder / entry.name
            if not path.exists():
                continue  # listed but absent: nothing of that kind
            if not path.is_file():
                raise ExtractFileError(f"{folder}: {entry.name} is not a file")
            try:
                header = read_header(path, entry.name, max_field)
                # Full structural scan now, so a broken file can never leave half a load;
                # it also finds the row keys used twice (duplicate_key: every such row).
                scan = scan_csv(path, entry.name, row_key_reader(entry, header), max_field)
                rows = scan.rows
            except ExtractFileError as exc:
                raise type(exc)(f"{folder}: {exc}") from exc
            missing = [c for c in entry.columns if c in entry.required and c not in header]
            if missing:
                raise MissingColumnsError(
                    f"{folder}: {entry.name} lacks required column(s) {', '.join(missing)}"
                )
            for col in header:
                if col not in entry.columns:
                    plan.notes[f"unknown_column:{entry.name}:{col or '(blank)'}"] += 1
            plan.rows += rows
            plan.csv_files[entry.name] = path
            if scan.duplicates:
                plan.duplicates[entry.name] = scan.duplicates
            counted[entry.name] = rows
    else:
        bundle_dir, bundles = _bundle_files(folder, mapping)
        for name in present:
            if name != bundle_dir.name:
                plan.notes[f"unknown_file:{name}"] += 1
        if present and not bundle_dir.is_dir():
            raise WrongAgencyError(
                f"{folder}: no {bundle_dir.name}/ folder — not a {mapping.agency} extract"
                + _other_format_hint(present, mapping, loaders_dir)
            )
        if bundle_dir.is_dir():
            plan.bundles = bundles
            for bundle in plan.bundles:
                _inside(folder, bundle)
            for p in sorted(bundle_dir.iterdir()):
                if p not in plan.bundles:
                    plan.notes[f"unknown_file:{bundle_dir.name}/{p.name}"] += 1
            # Progress counts bundle files once per resource-type pass.
            plan.rows = len(plan.bundles) * len(mapping.entries)
    if declared:
        rows_of: dict[str, Callable[[], int | None]] = {
            name: (lambda n=n: n) for name, n in counted.items()
        }
        for bundle in plan.bundles:
            rel = bundle.relative_to(folder).as_posix()
            rows_of[rel] = lambda b=bundle: _bundle_resources(b)
        _check_declared(folder, declared, rows_of)
    return plan


# -- phase 2: rows to batches (runs in a worker thread) ------------------------------


@lru_cache(maxsize=256)
def _template(template: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Split a template into its leading text and ``(field, text after it)`` pairs."""
    parts = _TEMPLATE_RE.split(template)
    return parts[0], tuple(zip(parts[1::2], parts[2::2], strict=True))


def _render(template: str, values: dict[str, Any]) -> str:
    """Fill ``{field}`` placeholders from ``values`` (a missing or null field is empty)."""
    head, fields = _template(template)
    if not fields:
        return head
    out = [head]
    for name, text in fields:
        v = values.get(name)
        if v is not None:
            out.append(v if isinstance(v, str) else str(v))
        out.append(text)
    return "".join(out)


#: The match form of a name (cpgraph.text.match_name), cached: names repeat a lot.
_match_name = lru_cache(maxsize=1 << 16)(match_name)


#: The same, for address lines (households share them), in a cache of their own.
_match_address = lru_cache(maxsize=1 << 15)(match_name)


def _address_key(address: str | None, postcode: str | None) -> str:
    """An Address node's key: canonical postcode and the match form of the line."""
    return f"{postcode or ''}|{_match_address(address) or ''}"


def _hash_json() -> Callable[[Any], str]:
    """``json.JSONEncoder(ensure_ascii=False, default=str).encode``, its C encoder made once.

    The row hash's JSON, the same text. ``JSONEncoder.encode`` builds a new C encoder
    (and a dict for its cycle check) on every call: half its cost on a mention row,
    ≈ 3 µs of each mention's. Rows hold no cycles, so the check is left out.
    """
    make = json.encoder.c_make_encoder  # type: ignore[attr-defined]
    strings = json.encoder.c_encode_basestring  # type: ignore[attr-defined]
    if make is None or strings is None:  # pragma: no cover - CPython's json has them
        return json.JSONEncoder(ensure_ascii=False, default=str).encode
    # (markers, default, strings, indent, key and item separators, sort_keys, skipkeys,
    # allow_nan): what JSONEncoder(ensure_ascii=False, default=str) passes, no markers
    encode = make(None, str, strings, None, ": ", ", ", False, False, True)

    def dumps(obj: Any) -> str:
        return "".join(encode(obj, 0))

    return dumps


_HASH_JSON = _hash_json()


def _row_hash(values: list[Any], facts: list[tuple[str, Any]]) -> str:
    """A mention's change detector: its values and its ``(fact, value)`` pairs sorted by name."""
    payload = _HASH_JSON([values, facts])
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=12).hexdigest()


def _event_digest(row: list[Any]) -> str:
    """An event row's change detector: every value but the load that wrote it (a flags
    run after a later load reads only the events it changed: ``Event.changed_in``)."""
    payload = _HASH_JSON([row[:10], row[11], row[12]])
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=12).hexdigest()


#: A column name no row has: a mention field the mapping leaves out reads it (None).
_ABSENT = "\x00absent"
#: What the identifier normalisers give for no value.
_NONE2: tuple[None, None] = (None, None)


@dataclass(frozen=True, slots=True)
class _MentionPlan:
    """Where a mapping entry's mention takes each value from, worked out once.

    Attributes:
        fields: every mention field -> its column (``_ABSENT`` when not mapped).
        facts: ``(fact, column)`` sorted by fact name (the row hash's order).
        slots: the column of each of ``FACT_SLOTS`` (``_ABSENT`` when not a fact here).
        extra: ``(fact, column)`` of facts without a slot.
    """

    fields: dict[str, str]
    facts: tuple[tuple[str, str], ...]
    slots: tuple[str, ...]
    extra: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, spec: Any) -> _MentionPlan:
        return cls(
            fields={n: spec.fields.get(n) or _ABSENT for n in MENTION_FIELD_KINDS},
            facts=tuple(sorted(spec.facts.items())),
            slots=tuple(spec.facts.get(slot, _ABSENT) for slot in FACT_SLOTS),
            extra=tuple((k, c) for k, c in spec.facts.items() if k not in _FACT_SLOT_SET),
        )


def fhir_passes(mapping: Mapping) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """A FHIR mapping's passes as :func:`cpgraph.ingest.fhir.scan_bundle` takes them."""
    return tuple((e.resource or e.name, tuple(e.paths.items())) for e in mapping.entries)


@dataclass(frozen=True, slots=True)
class _BundleEntry:
    """Where a FHIR row came from; its raw JSON is read again only if it is quarantined."""

    path: Path
    index: int


class BatchSource(Protocol):
    """A plan's write batches, made somewhere else (:mod:`cpgraph.ingest.ahead`).

    It stands in for a :class:`Producer` in :func:`run_plan`: its batches are the
    ones a producer of the plan would make; once they are all taken, the report
    it was given holds the producer's counts and ``supersession`` what the
    producer gathered.
    """

    rows_done: int
    supersession: Supersession | None
    prescan: Any

    def batches(self) -> Iterator[Batch]:
        """Yield the plan's write batches, in the producer's order."""
        ...


class AheadPlans(Protocol):
    """Plans whose batches are being made ahead of their turn (:mod:`cpgraph.ingest.ahead`)."""

    def source(self, index: int, report: LoadReport) -> BatchSource | None:
        """The batches of plan ``index`` (in load order), or None to make them here."""
        ...

    def close(self) -> None:
        """Stop making batches and release what making them holds."""
        ...


class Producer:
    """Turns an extract into write batches, filling the report as it goes.

    Args:
        plan / report / batch_size: the extract, its report, rows per batch.
        fhir_workers: worker processes validating FHIR bundles (0: in process;
            None: decided by the number of bundle files and CPUs).
    """

    def __init__(
        self,
        plan: ExtractPlan,
        report: LoadReport,
        batch_size: int,
        *,
        fhir_workers: int | None = None,
    ) -> None:
        self.plan = plan
        self.report = report
        self.mapping = plan.mapping
        self.system = plan.system
        self.agency = plan.agency
        self.load_id = plan.load_id
        self.extracted_at = plan.extracted_at
        self.pivot_year = int(plan.extracted_at[:4])
        self.buffers = Buffers(batch_size)
        self.known: dict[str, set[str]] = {}
        self.kind_entry = {e.mention.kind: e.name for e in self.mapping.entries if e.mention}
        # Required columns in column order: the first one missing is the one reported.
        self.required = {
            e.name: tuple(c for c in e.columns if c in e.required) for e in self.mapping.entries
        }
        # Longest value per column, in column order (the first too long is the one reported).
        self.limits = {e.name: tuple(column_limits(e).items()) for e in self.mapping.entries}
        self.limit_of = {e.name: dict(self.limits[e.name]) for e in self.mapping.entries}
        self.mention_plans = {
            e.name: _MentionPlan.of(e.mention) for e in self.mapping.entries if e.mention
        }
        self.record_keys: set[str] = set()
        self.event_ids: set[str] = set()
        self.relationships = 0
        self.rows_done = 0
        self.text_vocab = {
            name: {clean_text(k.casefold()) or "": v for k, v in vocab.items()}
            for name, vocab in self.mapping.vocabularies.items()
        }
        # Each vocabulary's codes and each enum's values by their folded form
        # ("Domestic Abuse" -> domestic_abuse, "mth" -> MTH)
        self.vocab_folds = {
            name: {fold_code(k): k for k in vocab}
            for name, vocab in self.mapping.vocabularies.items()
        }
        self.enum_folds = {
            e.name: {col: {fold_code(a): a for a in allowed} for col, allowed in e.enums.items()}
            for e in self.mapping.entries
        }
        self.bad_bundles: set[str] = set()
        self.fhir_workers = fhir_workers
        self._pool: Any = None
        # the bundle files' scans, when load_extracts started them ahead (fhir.Prescan)
        self.prescan: Any = None
        # What this load supersedes (set by run_plan); and the row being read, so a
        # quarantined row keeps its row key: (entry name, key function or None, row).
        self.supersession: Supersession | None = None
        self._current: tuple[str, Any, Any] | None = None

    # -- driving ------------------------------------------------------------------

    def batches(self) -> Iterator[Batch]:
        """Yield every write batch of the extract, in dependency order."""
        try:
            if self.mapping.format == "csv":
                for entry in self.mapping.entries:
                    self.known[entry.name] = set()
                    yield from self._csv_entry(entry)
                    yield from self.buffers.drain()
            else:
                yield from self._fhir_entries()
        finally:
            self.close()
        self.report.mentions = len(self.record_keys)
        self.report.events = len(self.event_ids)
        self.report.relationships = self.relationships

    # -- CSV ----------------------------------------------------------------------

    def _csv_entry(self, entry: EntryMapping) -> Iterator[Batch]:
        path = self.plan.csv_files.get(entry.name)
        if path is None:
            return
        rep = self.report.file(entry.name)
        records = iter_csv(path, entry.name, self.plan.max_field)
        header = [h.strip() for h in next(records).fields]
        wanted = set(entry.columns)
        index = [(i, col) for i, col in enumerate(header) if col in wanted]
        width = len(header)
        groups: dict[str, Any] = {}
        key_of = row_key_reader(entry, header)
        duplicates = self.plan.duplicates.get(entry.name, frozenset())
        sup = self.supersession
        track = sup is not None and sup.wants(entry.name)
        for rec in records:
            rep.read += 1
            self.rows_done += 1
            self._current = (entry.name, key_of, rec.fields)
            key = key_of(rec.fields) if key_of is not None and (duplicates or track) else None
            if rec.truncated:
                # the file ends inside this row: a half-written row never loads
                self._quarantine(rep, entry.name, rec.line, rec.raw, "truncated_row", "")
            elif len(rec.fields) > width:
                self._quarantine(rep, entry.name, rec.line, rec.raw, "too_many_fields", "")
            elif key is not None and key in duplicates:
                column = "+".join(template_fields(row_key_template(entry) or ""))
                self._quarantine(rep, entry.name, rec.line, rec.raw, "duplicate_key", column)
            else:
                if track and sup is not None:
                    sup.saw(entry.name, key)
                values = {col: rec.fields[i] for i, col in index if i < len(rec.fields)}
                self._row(entry, values, rep, entry.name, rec.line, rec.raw, groups, fhir=False)
            if self.buffers.full:
                yield from self.buffers.drain()
        self._group_relationships(entry, groups)

    # -- FHIR ---------------------------------------------------------------------

    def _fhir_entries(self) -> Iterator[Batch]:
        """Every FHIR pass, one per mapping entry, from one scan of each bundle file.

        The passes run in mapping order (a pass's references must find every
        resource of the passes before it, in any bundle), but each bundle file is
        parsed and validated once: the first pass is fed as the scans arrive, and
        what the later passes need is spilled to a temporary file (memory stays
        bounded) and read back when their turn comes.
        """
        from cpgraph.ingest import fhir  # noqa: PLC0415 — slow import (FHIR models)

        entries = self.mapping.entries
        if self.fhir_workers is None:
            self.fhir_workers = fhir.workers_for(len(self.plan.bundles))
        if self.fhir_workers and self._pool is None and self.prescan is None:
            self._pool = fhir.make_pool(self.fhir_workers)
        passes = fhir_passes(self.mapping)
        jobs = [str(path) for path in self.plan.bundles]
        with contextlib.ExitStack() as stack:
            spills = [stack.enter_context(tempfile.TemporaryFile()) for _ in entries[1:]]
            first = entries[0]
            self.known[first.name] = set()
            if self.prescan is not None:
                scans = self.prescan.scans()
            else:
                scans = fhir.scan_all(self._pool, self.fhir_workers or 0, jobs, passes)
            for path_text, scan in scans:
                self.rows_done += 1
                path = Path(path_text)
                rel = path.relative_to(self.plan.folder).as_posix()
                rep = self.report.file(rel)
                if scan.problem is not None:
                    rep.read += 1
                    problem = scan.problem
                    if problem == "not_json" and json_cut_short(path.read_bytes()):
                        problem = "truncated_row"  # a half-written bundle file
                    self._current = None
                    self._quarantine(rep, rel, 0, scan.raw or "", problem, "")
                    self.bad_bundles.add(rel)
                    continue
                if scan.not_collection:
                    rep.warn("bundle_type:type", 0)
                items = sorted([*scan.extras, *scan.items], key=itemgetter(1))
                yield from self._fhir_items(first, path, rel, rep, items)
                for spill, data in zip(spills, scan.later, strict=True):
                    spill.write(len(data).to_bytes(8, "little"))
                    spill.write(data)
            yield from self.buffers.drain()
            for entry, spill in zip(entries[1:], spills, strict=True):
                self.known[entry.name] = set()
                spill.seek(0)
                for path in self.plan.bundles:
                    self.rows_done += 1
                    rel = path.relative_to(self.plan.folder).as_posix()
                    if rel in self.bad_bundles:
                        continue
                    size = int.from_bytes(spill.read(8), "little")
                    items = fhir.load_items(spill.read(size))
                    yield from self._fhir_items(entry, path, rel, self.report.file(rel), items)
                yield from self.buffers.drain()

    def _fhir_items(
        self, entry: EntryMapping, path: Path, rel: str, rep: Any, items: list[tuple[Any, ...]]
    ) -> Iterator[Batch]:
        """Load one bundle file's scan items for ``entry`` (see :class:`fhir.BundleScan`)."""
        key_of = row_key_reader(entry)
        keys = [key_of(item[2]) if key_of and item[0] == "row" else None for item in items]
        counted = Counter(k for k in keys if k is not None)
        sup = self.supersession
        track = sup is not None and sup.wants(entry.name)
        for item, key in zip(items, keys, strict=True):
            kind, i = item[0], item[1]
            self._current = (entry.name, key_of, item[2]) if kind == "row" else None
            if kind == "row" and key is not None and counted[key] > 1:
                # the same resource id twice in one bundle file: neither version loads
                rep.read += 1
                raw = _BundleEntry(path, i)
                self._quarantine(rep, rel, i, raw, "duplicate_key", entry.id or "id")
            elif kind == "row":
                rep.read += 1
                if track and sup is not None:
                    sup.saw(entry.name, key)
                self._row(entry, item[2], rep, rel, i, _BundleEntry(path, i), {}, fhir=True)
                if self.buffers.full:
                    yield from self.buffers.drain()
            elif kind == "bad":
                rep.read += 1
                self._quarantine(rep, rel, i, item[2], "invalid_resource", item[3])
            else:
                rep.warn(item[2], i)

    def close(self) -> None:
        """Stop the FHIR worker processes, if any (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self.prescan is not None:
            self.prescan.close()
            self.prescan = None

    # -- one row ------------------------------------------------------------------

    def _quarantine(
        self, rep: Any, file: str, line: int, raw: Any, reason: str, column: str
    ) -> None:
        if isinstance(raw, _BundleEntry):
            from cpgraph.ingest.fhir import resource_text  # noqa: PLC0415

            raw = resource_text(raw.path, raw.index)
        if not isinstance(raw, str):
            raw = json.dumps(raw, ensure_ascii=False)
        raw = raw.replace("\x00", "\ufffd")
        truncated = len(raw) > MAX_RAW_CHARS
        rep.quarantined += 1
        rep.errors[f"{reason}:{column}" if column else reason] += 1
        key = f"{self.load_id}|{file}|{line}"
        row = [
            key,
            self.system,
            file,
            line,
            raw[:MAX_RAW_CHARS],
            reason,
            column or None,
            self.load_id,
            truncated,
        ]
        self.buffers.add("ingest_quarantine_upsert", key, row)
        if self.supersession is not None:
            current = self._current
            entry = current[0] if current is not None else file
            row_key = current[1](current[2]) if current is not None and current[1] else None
            self.supersession.quarantine(key, entry, row_key)

    def _row(
        self,
        entry: EntryMapping,
        cells: dict[str, str | None],
        rep: Any,
        file: str,
        line: int,
        raw: Any,
        groups: dict[str, Any],
        *,
        fhir: bool,
    ) -> None:
        # Every value is bounded (cpgraph.contract.spec.FIELD_LIMITS): an unbounded one
        # would reach the store's keys and indexes. Checked first, as the validator does;
        # measured while trimming, and only a row that has one too long is walked in
        # column order (the first too long is the one reported).
        limit_of = self.limit_of[entry.name]
        upper = entry.upper
        too_long = False
        vals: dict[str, Any] = {}
        for col, cell in cells.items():
            if cell is None:
                continue
            text = cell.strip()
            if text:  # (an empty value is never too long)
                if len(text) > limit_of.get(col, MAX_FIELD_CHARS):
                    too_long = True
                vals[col] = text.upper() if col in upper else text
        if too_long:
            for col, limit in self.limits[entry.name]:
                cell = cells.get(col)
                if cell is not None and len(cell) > limit and len(cell.strip()) > limit:
                    return self._quarantine(rep, file, line, raw, "too_long", col)
        # Row errors, in the contract's order: too long (above), required, dates,
        # required references.
        for col in self.required[entry.name]:
            if col not in vals:
                return self._quarantine(rep, file, line, raw, "missing_required", col)
        for cols, parse, code in (
            (entry.dates, parse_date, "bad_date"),
            (entry.datetimes, parse_datetime, "bad_datetime"),
        ):
            for col in cols:
                if col not in vals:
                    continue
                parsed = parse(vals[col])
                if parsed is None:
                    if fhir:
                        # FHIR allows partial dates (YYYY, YYYY-MM) the model accepted.
                        rep.warn(f"partial_date:{col}", line)
                        del vals[col]
                        continue
                    return self._quarantine(rep, file, line, raw, code, col)
                vals[col] = parsed
        unresolved: set[str] = set()
        for ref in entry.refs:
            value = vals.get(ref.column)
            if value is not None and value in self.known.get(ref.entry, ()):
                continue
            if ref.required:
                return self._quarantine(rep, file, line, raw, "unknown_reference", ref.column)
            if value is not None:
                rep.warn(f"unknown_optional_reference:{ref.column}", line)
                unresolved.add(ref.column)
        # Warnings: the row loads.
        for col, allowed in entry.enums.items():
            if col in vals and vals[col] not in allowed:
                # a code written in another case or with spaces or hyphens for its
                # underscores is that code: "Domestic Abuse" must still be domestic abuse
                canonical = self.enum_folds[entry.name][col].get(fold_code(vals[col]))
                if canonical is None:
                    rep.warn(f"unknown_enum:{col}", line)
                else:
                    vals[col] = canonical
        for col in entry.booleans:
            if col in vals:
                flag = parse_bool(vals[col])
                if flag is None:
                    rep.warn(f"bad_boolean:{col}", line)
                    del vals[col]
                else:
                    vals[col] = flag
        for col in entry.integers:
            if col in vals:
                number = parse_int(vals[col])
                if number is None:
                    rep.warn(f"bad_integer:{col}", line)
                    del vals[col]
                else:
                    vals[col] = number
        for col, sep in entry.lists.items():
            if col in vals:
                vals[col] = split_list(vals[col], sep) or None
        rep.loaded += 1
        if entry.id and entry.id in vals:
            self.known[entry.name].add(vals[entry.id])
        vals["system"] = self.system
        if entry.mention:
            self._mention(entry, vals)
        for ev in entry.events:
            self._event(ev, vals, unresolved, rep, line)
        for inv in entry.involvements:
            eid = event_id(self.system, inv.event_type, _render(inv.event_id or "", vals))
            self._involve(inv.record.kind, vals.get(inv.record.id), eid, inv.role, vals)
        for rel in entry.relationships:
            self._relationship(rel, vals, unresolved, rep, line)
        for grp in entry.group_relationships:
            group = vals.get(grp.group)
            member = vals.get(grp.member.id)
            if group is None or member is None:
                continue
            slot = groups.setdefault(group, ([], []))
            member_key = record_key(self.system, grp.member.kind, member)
            if vals.get(grp.anchor_column) == grp.anchor_value:
                slot[0].append(member_key)
            if vals.get(grp.relationship):
                slot[1].append((member_key, vals[grp.relationship]))
        return None

    def _mention(self, entry: EntryMapping, vals: dict[str, Any]) -> None:
        spec = entry.mention
        assert spec is not None
        local_id = vals.get(spec.id)
        if local_id is None:
            return
        key = record_key(self.system, spec.kind, local_id)
        plan = self.mention_plans[entry.name]
        # one lookup per field: a field the mapping leaves out reads the absent column
        cols = plan.fields
        get = vals.get

        # A value the row lacks (most of a mention's fields in most extracts) is not
        # passed to its normaliser: each gives None (or (None, None)) for None, and
        # _match_name gives None for an empty value, without the call.
        forename = get(cols["forename"])
        forename = clean_text(forename) if forename is not None else None
        middle = get(cols["middle_names"])
        middle = clean_text(middle) if middle is not None else None
        surname = get(cols["surname"])
        surname = clean_text(surname) if surname is not None else None
        former = get(cols["former_surname"])
        former = clean_text(former) if former is not None else None
        aliases_raw = get(cols["aliases"])
        aliases = (
            [a for a in (display_name(x) for x in aliases_raw) if a]
            if isinstance(aliases_raw, list)
            else split_list(aliases_raw)
        ) or None
        aliases_m = [m for m in (_match_name(name_order(a)) for a in aliases or ()) if m] or None
        names = [n for n in (forename, middle, surname, former) if n] + list(aliases or ())
        sex = get(cols["sex"])
        if sex is not None:
            # FHIR's codes, and the same words in a CSV export ("Male"), are the contract's
            # letters; anything else is kept as recorded (and reported as a warning)
            word = sex.strip()
            sex = _SEX_WORDS.get(word.lower()) or (word.upper() if word.upper() in _SEXES else sex)
        v = get(cols["postcode"])
        postcode, postcode_valid = normalise_postcode(v) if v is not None else _NONE2
        v = get(cols["address"])
        address = clean_text(v) if v is not None else None
        v = get(cols["nhs_number"])
        nhs, nhs_valid = normalise_nhs_number(v) if v is not None else _NONE2
        v = get(cols["upn"])
        upn, upn_valid = normalise_upn(v) if v is not None else _NONE2
        v = get(cols["former_upn"])
        former_upn = normalise_upn(v)[0] if v is not None else None
        v = get(cols["pnc_id"])
        pnc, pnc_valid = normalise_pnc_id(v, self.pivot_year) if v is not None else _NONE2
        cro = get(cols["cro_number"])
        prison = get(cols["prison_number"])
        booking = get(cols["booking_id"])
        core = [
            key,
            self.system,
            self.agency,
            spec.kind,
            local_id,
            forename,
            middle,
            surname,
            _match_name(forename) if forename else None,
            _match_name(middle) if middle else None,
            _match_name(surname) if surname else None,
            former,
            _match_name(former) if former else None,
            aliases,
            aliases_m,
            " ".join(names) or None,
            get(cols["dob"]),
            sex,
            postcode,
            postcode_valid,
            address,
            nhs,
            nhs_valid,
            upn,
            upn_valid,
            former_upn,
            pnc,
            pnc_valid,
            normalise_code(cro) if cro is not None else None,
            normalise_code(prison) if prison is not None else None,
            clean_text(booking) if booking is not None else None,
        ]
        addr_key = _address_key(address, postcode) if address or postcode else None
        if self.supersession is not None:
            self.supersession.mention_address(key, addr_key)
        # the facts, sorted by name as the row hash has always had them
        facts = [(prop, get(col)) for prop, col in plan.facts]
        row = [
            *core,
            self.load_id,
            _row_hash(core, facts),
            self.extracted_at,
            *[get(col) for col in plan.slots],
            addr_key,
        ]
        self.buffers.add("ingest_records_upsert", key, row)
        self.record_keys.add(key)
        if plan.extra:
            extra = {prop: get(col) for prop, col in plan.extra}
            self.buffers.add("ingest_record_facts_upsert", key, [key, extra])
        if spec.organisation:
            org = spec.organisation
            code = _render(org.id, vals).strip()
            if code:
                name = vals.get(org.name) if org.name else None
                query = (
                    "ingest_record_enrolled_at_upsert"
                    if org.rel == "ENROLLED_AT"
                    else "ingest_record_held_at_upsert"
                )
                org_key = f"{org.type}:{code.casefold()}"
                row = [org_key, org.type, code, name, key, self.system]
                self.buffers.add(query, (org_key, key), row)

    def _address(
        self, query: str, owner: str, address: str | None, postcode: str | None, valid: Any
    ) -> None:
        addr_key = _address_key(address, postcode)
        row = [addr_key, address, postcode, valid, owner, self.extracted_at, self.system]
        self.buffers.add(query, (addr_key, owner), row)

    def _event(
        self, ev: EventSpec, vals: dict[str, Any], unresolved: set[str], rep: Any, line: int
    ) -> None:
        if any(vals.get(col) is None for col in ev.requires):
            return
        local = _render(ev.id, vals)
        if not local.strip(":"):
            return
        eid = event_id(self.system, ev.type, local)
        category = _render(ev.category, vals) if ev.category else None
        if category and ev.category_vocabulary:
            category = self.mapping.vocabularies[ev.category_vocabulary].get(category, category)
        category = category or None
        concern = None
        for rule in ev.concerns:
            if all(vals.get(col) in allowed for col, allowed in rule.when.items()) and all(
                any(w in str(vals.get(col) or "").casefold() for w in words)
                for col, words in rule.contains.items()
            ):
                concern = category if rule.category == "@category" else _render(rule.category, vals)
                concern = concern or "unspecified"
                break
        start = vals.get(ev.date) if ev.date else None
        end = vals.get(ev.end_date) if ev.end_date else None
        row = [
            eid,
            ev.type,
            category,
            concern is not None,
            concern,
            start[:10] if start else None,
            start if start and len(start) > 10 else None,
            end[:10] if end else None,
            self.agency,
            self.system,
            self.load_id,
            {prop: vals.get(col) for prop, col in ev.facts.items()},
            not ev.facts.keys() <= _EVENT_FACT_SLOT_SET,
        ]
        row.append(_event_digest(row))
        self.buffers.add("ingest_events_upsert", eid, row)
        self.event_ids.add(eid)
        address = clean_text(vals.get(ev.address)) if ev.address else None
        postcode, valid = normalise_postcode(vals.get(ev.postcode) if ev.postcode else None)
        if address or postcode:
            self._address("ingest_event_addresses_upsert", eid, address, postcode, valid)
        if self.supersession is not None:
            located = address or postcode
            self.supersession.event_address(
                eid, _address_key(address, postcode) if located else None
            )
        if ev.organisation:
            org = ev.organisation
            code = _render(org.id, vals).strip()
            if code:
                org_key = f"{org.type}:{code.casefold()}"
                name = vals.get(org.name) if org.name else None
                row = [org_key, org.type, code, name, eid, self.system]
                self.buffers.add("ingest_event_recorded_by_upsert", (org_key, eid), row)
        for inv in ev.involved:
            if inv.record.id in unresolved:
                continue  # an optional reference that points nowhere: link dropped
            local_id = vals.get(inv.record.id)
            if (
                inv.optional
                and local_id is not None
                and not self._exists(inv.record.kind, local_id)
            ):
                rep.warn(f"unknown_optional_reference:{inv.record.id}", line)
                continue
            self._involve(inv.record.kind, local_id, eid, inv.role, vals)

    def _exists(self, kind: str, local_id: str) -> bool:
        entry = self.kind_entry.get(kind)
        return entry is not None and local_id in self.known.get(entry, ())

    def _involve(
        self, kind: str, local_id: Any, event_id: str, role_template: str, vals: dict[str, Any]
    ) -> None:
        if local_id is None:
            return
        key = record_key(self.system, kind, local_id)
        role = _render(role_template, vals) or "involved"
        self.buffers.add(
            "ingest_involvements_upsert", (key, event_id, role), [key, event_id, role, self.system]
        )

    def _relationship(
        self, rel: Any, vals: dict[str, Any], unresolved: set[str], rep: Any, line: int
    ) -> None:
        src_id, tgt_id = vals.get(rel.source.id), vals.get(rel.target.id)
        if src_id is None or tgt_id is None:
            return
        if rel.source.id in unresolved or rel.target.id in unresolved:
            return
        for kind, local_id, col in (
            (rel.source.kind, src_id, rel.source.id),
            (rel.target.kind, tgt_id, rel.target.id),
        ):
            if not self._exists(kind, local_id):
                rep.warn(f"unknown_optional_reference:{col}", line)
                return
        coded = vals.get(rel.relationship) if rel.relationship else None
        text = vals.get(rel.text) if rel.text else None
        vocab = self.mapping.vocabularies[rel.vocabulary]
        if coded is not None and coded not in vocab:
            coded = self.vocab_folds[rel.vocabulary].get(fold_code(coded), coded)
        canonical: str | None
        if coded is not None and coded in vocab:
            canonical, recorded = vocab[coded], coded
        elif text is not None and rel.text_vocabulary:
            folded = clean_text(text.casefold()) or ""
            canonical, recorded = self.text_vocab[rel.text_vocabulary].get(folded, "other"), text
        elif coded is not None:
            canonical, recorded = "other", coded  # outside the enum: kept as recorded
        else:
            canonical, recorded = rel.default, None
        if not canonical:
            return
        src = record_key(self.system, rel.source.kind, src_id)
        tgt = record_key(self.system, rel.target.kind, tgt_id)
        source_key = _render(rel.source_key, vals)
        lives_with = vals.get(rel.lives_with) if rel.lives_with else None
        row = [
            src,
            tgt,
            source_key,
            canonical,
            recorded,
            lives_with if isinstance(lives_with, bool) else None,
            vals.get(rel.from_date) if rel.from_date else None,
            vals.get(rel.to_date) if rel.to_date else None,
            self.system,
            self.load_id,
        ]
        self.buffers.add("ingest_relationships_upsert", (src, tgt, source_key), row)
        self.relationships += 1

    def _group_relationships(self, entry: EntryMapping, groups: dict[str, Any]) -> None:
        for grp in entry.group_relationships:
            vocab = self.mapping.vocabularies[grp.vocabulary]
            for group, (anchors, members) in groups.items():
                base = _render(grp.source_key, {grp.group: group, "system": self.system})
                for anchor in dict.fromkeys(anchors):
                    for member, recorded in members:
                        canonical = vocab.get(recorded, "other")
                        if member == anchor or not canonical:
                            continue
                        row = [
                            anchor,
                            member,
                            base,
                            canonical,
                            recorded,
                            None,
                            None,
                            None,
                            self.system,
                            self.load_id,
                        ]
                        self.buffers.add("ingest_relationships_upsert", (anchor, member, base), row)
                        self.relationships += 1


# -- running a load --------------------------------------------------------------------

_DONE = object()


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _close(batches: Iterator[Batch]) -> None:
    close = getattr(batches, "close", None)
    if close is not None:
        close()


async def _pump(
    store: GraphStore,
    batches: Iterator[Batch],
    on_batch: Callable[[], None],
    *,
    threaded: bool = True,
) -> int:
    """Write batches as the producer makes them; return how many were written.

    Threaded: the producer runs in a worker thread and hands over batches
    through a small bounded queue, so parsing the next rows overlaps with the
    database writing the previous batch.
    """
    written = 0
    if not threaded:
        try:
            for name, rows in batches:
                await write_batch(store, name, rows)
                written += 1
                on_batch()
        finally:
            _close(batches)
        return written
    handoff: queue.Queue[Any] = queue.Queue(maxsize=4)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        handoff.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(_DONE)
        except BaseException as exc:  # noqa: BLE001 — handed to the event loop to re-raise
            handoff.put(_Failure(exc))
        finally:
            _close(batches)  # a stopped producer releases its workers now, not at GC

    def take() -> Any:
        while True:
            try:
                return handoff.get(timeout=0.1)
            except queue.Empty:
                if stop.is_set():
                    return _DONE

    # A store that can keep a sequence of writes in order lets the next batch be
    # encoded and queued while the previous one runs on the server; any other
    # store gets one batch at a time.
    ordered = getattr(store, "ordered_writes", None)
    target: Any = ordered() if callable(ordered) else store
    ahead = target is not store
    pending: list[asyncio.Future[Any]] = []  # oldest first; at most two

    async def settle_oldest() -> None:
        nonlocal written
        await pending[0]
        pending.pop(0)
        written += 1
        on_batch()

    worker = threading.Thread(target=produce, name="cpgraph-ingest-reader", daemon=True)
    worker.start()
    try:
        while True:
            try:
                item = handoff.get_nowait()
            except queue.Empty:
                item = await asyncio.to_thread(take)
            if item is _DONE:
                break
            if isinstance(item, _Failure):
                raise item.exc
            name, rows = item
            pending.append(asyncio.ensure_future(write_batch(target, name, rows)))
            if len(pending) > (1 if ahead else 0):
                await settle_oldest()
        while pending:
            await settle_oldest()
    finally:
        for task in pending:  # a failed batch: the one queued behind it is not sent
            task.cancel()
        for task in pending:
            with contextlib.suppress(BaseException):
                await task
        stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                handoff.get_nowait()
            except queue.Empty:
                break
        await asyncio.to_thread(worker.join)
    return written


def new_report(plan: ExtractPlan) -> LoadReport:
    """An empty report of a load of ``plan``, with the plan's extract-level notes."""
    report = LoadReport(
        load_id=plan.load_id,
        system=plan.system,
        agency=plan.agency,
        organisation=plan.organisation,
        extracted_at=plan.extracted_at,
        folder=str(plan.folder),
    )
    report.notes.update(plan.notes)
    return report


async def _check_not_older(store: GraphStore, plan: ExtractPlan) -> None:
    rows = await store.query("ingest_loads_list", system=plan.system, limit=50)
    for row in rows:
        if row.get("status") == "completed" and (row.get("extracted_at") or "") > plan.extracted_at:
            raise StaleExtractError(
                f"{plan.folder}: a newer extract of system {plan.system} "
                f"({row['extracted_at']}) is already loaded; loading this older one "
                "would roll mentions back"
            )


async def run_plan(
    store: GraphStore,
    plan: ExtractPlan,
    *,
    progress: ProgressFn | None = None,
    batch_size: int | None = None,
    allow_older: bool = False,
    threaded: bool = True,
    prescan: Any = None,
    ahead: Callable[[LoadReport], BatchSource | None] | None = None,
) -> LoadReport:
    """Load a checked extract (see :func:`load_extract`).

    ``prescan`` (FHIR only): its bundle files' scans, started ahead
    (:class:`cpgraph.ingest.fhir.Prescan`); the load closes it when done.
    ``ahead``: given the load's report, the plan's batches made elsewhere
    (:class:`BatchSource`), or None to make them in this process.
    """
    if not allow_older:
        await _check_not_older(store, plan)
    report = new_report(plan)
    report.started_at = _now()
    clock = asyncio.get_running_loop().time
    began = clock()
    await store.execute(
        "ingest_load_start",
        load_id=plan.load_id,
        started_at=report.started_at,
        system=plan.system,
        agency=plan.agency,
        organisation=plan.organisation,
        extracted_at=plan.extracted_at,
        org_key=f"{plan.mapping.organisation_type}:{plan.system}",
        org_type=plan.mapping.organisation_type,
        owner=this_process(),
    )
    source = ahead(report) if ahead is not None else None
    producer: Producer | BatchSource = source or Producer(
        plan, report, batch_size or store.batch_size
    )
    producer.prescan = prescan
    producer.supersession = await supersede.begin(
        store, plan.load_id, plan.system, plan.extracted_at
    )

    def on_batch() -> None:
        report.batches += 1
        if progress is not None:
            progress(plan.system, producer.rows_done, plan.rows)

    try:
        await _pump(store, producer.batches(), on_batch, threaded=threaded)
        # the latest load of a file is the truth for its rows: drop what it replaced
        report.superseded = await supersede.finish(store, producer.supersession)
    except BaseException as exc:
        report.status = "failed"
        report.finished_at = _now()
        report.seconds = clock() - began
        crashed = isinstance(exc, StoreUnavailableError)
        # Record the failure if the store still answers; the original error matters more.
        # After a store crash, wait for its supervisor to bring it back, so the load
        # ends `failed` (re-run it to resume), not `running` for ever.
        with contextlib.suppress(Exception):
            await asyncio.shield(_record_failure(store, report, wait=crashed))
        if crashed:
            raise StoreUnavailableError(
                f"load {plan.load_id} stopped: the graph store failed ({exc}); "
                "the load is marked failed, run it again to resume"
            ) from exc
        raise
    report.status = "completed"
    report.finished_at = _now()
    report.seconds = clock() - began
    await _finish(store, report)
    return report


async def _record_failure(store: GraphStore, report: LoadReport, *, wait: bool) -> None:
    try:
        await _finish(store, report)
    except StoreUnavailableError:
        if not wait or not await store.wait_available():
            raise
        await _finish(store, report)


async def _finish(store: GraphStore, report: LoadReport) -> None:
    await store.execute(
        "ingest_load_finish",
        load_id=report.load_id,
        status=report.status,
        finished_at=report.finished_at,
        files=report.files_json(),
        rows_read=report.rows_read,
        rows_loaded=report.rows_loaded,
        rows_quarantined=report.rows_quarantined,
        mentions=report.mentions,
    )


async def load_extract(
    store: GraphStore,
    folder: Path | str,
    *,
    progress: ProgressFn | None = None,
    batch_size: int | None = None,
    loaders_dir: Path | None = None,
    allow_older: bool = False,
) -> LoadReport:
    """Check one extract folder, then load it into the store.

    Args:
        store: a started, bootstrapped graph store.
        folder: the extract folder (``manifest.json`` + the agency's files).
        progress: called as ``progress(system, rows_done, rows_expected)`` after
            each batch (rows: CSV records / bundle files).
        batch_size: rows per UNWIND batch (default: the store's setting).
        loaders_dir: mapping folder (default: the shipped ``loaders/``).
        allow_older: load even if a newer extract of the same system is loaded.

    Returns:
        The load report (also stored on the ``Load`` node).

    Raises:
        IngestError: the extract is unusable; nothing was written.
    """
    plan = prepare_extract(folder, loaders_dir=loaders_dir)
    return await run_plan(
        store, plan, progress=progress, batch_size=batch_size, allow_older=allow_older
    )


def _start_prescan(
    folders: list[Path | str], loaders_dir: Path | None
) -> tuple[Path, list[Path], Any] | None:
    """Start scanning the first FHIR extract's bundle files, before any extract is checked.

    Its worker processes then validate FHIR while this process checks the extracts
    and loads the ones before it: both cores busy. Only reading happens: if an extract
    is refused, the scans are dropped. A folder whose manifest or mapping is not
    plainly a FHIR extract, or whose bundle files include a symbolic link, is left
    to :func:`prepare_extract` and scanned at its turn.

    Returns:
        ``(folder, bundle files, fhir.Prescan)``, or None.
    """
    for given in folders:
        folder = Path(given)
        try:
            manifest = _read_manifest(folder)
            mapping = mapping_for(manifest["agency"], manifest["system"], loaders_dir)
        except Exception:  # noqa: BLE001 — prepare_extract reports it, in folder order
            continue
        if mapping.format != "fhir":
            continue
        bundle_dir, bundles = _bundle_files(folder, mapping)
        if not bundle_dir.is_dir() or bundle_dir.is_symlink():
            return None
        from cpgraph.ingest import fhir  # noqa: PLC0415 — slow import (FHIR models)

        workers = fhir.workers_for(len(bundles))
        if not workers or any(p.is_symlink() for p in bundles):
            return None
        jobs = [str(p) for p in bundles]
        return folder, bundles, fhir.Prescan(workers, jobs, fhir_passes(mapping))
    return None


async def load_extracts(
    store: GraphStore,
    folders: Iterable[Path | str],
    *,
    progress: ProgressFn | None = None,
    batch_size: int | None = None,
    loaders_dir: Path | None = None,
    allow_older: bool = False,
    ahead: Callable[[list[ExtractPlan], int, dict[int, Any]], AheadPlans] | None = None,
) -> list[LoadReport]:
    """Check every folder first, then load them oldest extract first.

    If any folder is unusable, nothing at all is written and its error is
    raised (the message names the folder).

    Args:
        store / folders / progress / batch_size / loaders_dir / allow_older: as for
            :func:`load_extract`.
        ahead: given the plans in load order, the batch size and the FHIR prescans
            started (by plan position), starts making some plans' batches ahead of
            their turn (:mod:`cpgraph.ingest.ahead`).

    Returns:
        One report per folder, in load order.
    """
    folders = list(folders)
    early = _start_prescan(folders, loaders_dir)  # (folder, bundle files, prescan) or None
    early_scans: dict[int, Any] = {}
    try:
        plans = [prepare_extract(f, loaders_dir=loaders_dir) for f in folders]
    except BaseException:
        if early is not None:
            early[2].close()
        raise
    plans.sort(key=lambda p: (p.extracted_at, p.system))
    if early is not None:
        folder, bundles, prescan = early
        at = next((i for i, p in enumerate(plans) if p.folder == folder), None)
        if at is not None and plans[at].bundles == bundles:
            early_scans[at] = prescan
        else:  # pragma: no cover - the folder changed between the two looks
            prescan.close()
    if any(p.mapping.format == "fhir" for p in plans[1:]):
        from cpgraph.ingest import fhir  # noqa: PLC0415 — slow import (FHIR models)

        if any(
            p.mapping.format == "fhir" and i not in early_scans and fhir.workers_for(len(p.bundles))
            for i, p in enumerate(plans)
        ):
            fhir.warm_up()  # its worker pool's fork server starts while earlier extracts load
    reports: list[LoadReport] = []
    made = None if ahead is None else ahead(plans, batch_size or store.batch_size, early_scans)
    try:
        for i, plan in enumerate(plans):
            reports.append(
                await run_plan(
                    store, plan, progress=progress, batch_size=batch_size,
                    allow_older=allow_older, prescan=early_scans.get(i),
                    ahead=None if made is None else partial(made.source, i),
                )
            )  # fmt: skip
    finally:
        for prescan in early_scans.values():  # closed by its load, unless a load failed first
            prescan.close()
        if made is not None:
            made.close()
    return reports
