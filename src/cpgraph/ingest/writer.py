"""Batch buffers and the named queries that write them.

The engine adds rows to per-query buffers; :meth:`Buffers.drain` turns them into
``(query name, rows)`` batches in dependency order (mentions and events before
the edges that join them), so an edge's ends always exist when it is written.
Rows are lists rather than maps: FalkorDB receives parameters as text, and a
list row is a third cheaper to send and parse than the same row as a map.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from cpgraph.store import WriteSummary

#: Mention facts with a column of their own in ``ingest_records_upsert`` (every fact
#: the shipped mappings name), so a new mention is created in one step. A mapping
#: may name others: they are written by ``ingest_record_facts_upsert``.
FACT_SLOTS: tuple[str, ...] = (
    "school_urn",
    "school_name",
    "admission_date",
    "leaving_date",
    "parental_responsibility",
    "contact_relationship",
    "contact_priority",
    "relationship_code",
    "relationship_text",
    "prison_code",
    "reception_date",
    "release_date",
    "offence_category",
    "child_contact_restriction",
    "approved_visitor",
    "next_of_kin",
    "visitor_relationship",
)

#: Column order of an ``ingest_records_upsert`` row (the Cypher file indexes it):
#: the mention's properties, its fact slots, then the key of its Address (or null).
RECORD_COLUMNS: tuple[str, ...] = (
    "key",
    "system",
    "agency",
    "kind",
    "local_id",
    "forename",
    "middle_names",
    "surname",
    "forename_m",
    "middle_m",
    "surname_m",
    "former_surname",
    "former_surname_m",
    "aliases",
    "aliases_m",
    "name_text",
    "dob",
    "sex",
    "postcode",
    "postcode_valid",
    "address",
    "nhs_number",
    "nhs_number_valid",
    "upn",
    "upn_valid",
    "former_upn",
    "pnc_id",
    "pnc_id_valid",
    "cro_number",
    "prison_number",
    "booking_id",
    "load_id",
    "row_hash",
    "updated_at",
    *FACT_SLOTS,
    "address_key",
)
RECORD_INDEX = {name: i for i, name in enumerate(RECORD_COLUMNS)}

#: Event facts ``ingest_events_upsert`` reads out of the facts map when it creates an
#: event (every fact the shipped mappings name), so a new event is created in one
#: step; a row with other fact names says so in its last column and they are SET after.
EVENT_FACT_SLOTS: tuple[str, ...] = (
    "referral_source",
    "referrer_name",
    "summary",
    "nfa",
    "outcome",
    "factors",
    "term",
    "sessions_possible",
    "sessions_authorised_absence",
    "sessions_unauthorised_absence",
    "sessions",
    "reason",
    "raised_by_role",
    "referred_to_childrens_services",
    "encounter_class",
    "snomed_code",
    "flag",
    "author",
    "occurrence_type",
    "dash_risk",
    "marac_referral",
    "children_present",
    "prison_code",
    "offence_category",
    "booking_id",
)

#: Column order of an ``ingest_events_upsert`` row.
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "type",
    "category",
    "is_concern",
    "concern_category",
    "date",
    "datetime",
    "end_date",
    "agency",
    "system",
    "load_id",
    "facts",
    "extra_facts",
    "digest",
)

#: Write order: nodes first, then edges that MATCH them, quarantine last.
QUERY_ORDER: tuple[str, ...] = (
    "ingest_records_upsert",
    "ingest_record_facts_upsert",
    "ingest_events_upsert",
    "ingest_event_addresses_upsert",
    "ingest_record_enrolled_at_upsert",
    "ingest_record_held_at_upsert",
    "ingest_event_recorded_by_upsert",
    "ingest_involvements_upsert",
    "ingest_relationships_upsert",
    "ingest_quarantine_upsert",
)

Batch = tuple[str, list[list[Any]]]


class Writer(Protocol):
    """What runs a batch: a GraphStore, or an adapter's ordered write sequence."""

    async def execute(self, name: str, /, **params: Any) -> WriteSummary:
        """Run a named write query."""
        ...


class Buffers:
    """Rows waiting to be written, deduplicated by identity within a batch.

    A later row with the same identity replaces the earlier one (the contract's
    "the later row wins"; sending both in one UNWIND would not guarantee it).
    """

    def __init__(self, batch_size: int) -> None:
        """Create empty buffers flushing at ``batch_size`` rows."""
        self.batch_size = batch_size
        self._rows: dict[str, dict[Any, list[Any]]] = {name: {} for name in QUERY_ORDER}
        self._full = False

    def add(self, query: str, identity: Any, row: list[Any]) -> None:
        """Queue one row for ``query``; ``identity`` decides duplicates."""
        bucket = self._rows[query]
        bucket[identity] = row
        if len(bucket) >= self.batch_size:
            self._full = True

    @property
    def full(self) -> bool:
        """True when some buffer holds a whole batch."""
        return self._full

    def pending(self) -> int:
        """Rows queued in all buffers."""
        return sum(len(b) for b in self._rows.values())

    def drain(self) -> Iterator[Batch]:
        """Yield every queued row as batches, in dependency order, and empty the buffers."""
        for name in QUERY_ORDER:
            bucket = self._rows[name]
            if not bucket:
                continue
            rows = list(bucket.values())
            bucket.clear()
            for start in range(0, len(rows), self.batch_size):
                yield name, rows[start : start + self.batch_size]
        self._full = False


async def write_batch(store: Writer, name: str, rows: list[list[Any]]) -> WriteSummary:
    """Run one batch through its named query.

    Each name is spelled out so the registry's static check can match every
    call with the parameters its Cypher file uses.
    """
    if name == "ingest_records_upsert":
        return await store.execute("ingest_records_upsert", rows=rows)
    if name == "ingest_events_upsert":
        return await store.execute("ingest_events_upsert", rows=rows)
    if name == "ingest_record_facts_upsert":
        return await store.execute("ingest_record_facts_upsert", rows=rows)
    if name == "ingest_event_addresses_upsert":
        return await store.execute("ingest_event_addresses_upsert", rows=rows)
    if name == "ingest_record_enrolled_at_upsert":
        return await store.execute("ingest_record_enrolled_at_upsert", rows=rows)
    if name == "ingest_record_held_at_upsert":
        return await store.execute("ingest_record_held_at_upsert", rows=rows)
    if name == "ingest_event_recorded_by_upsert":
        return await store.execute("ingest_event_recorded_by_upsert", rows=rows)
    if name == "ingest_involvements_upsert":
        return await store.execute("ingest_involvements_upsert", rows=rows)
    if name == "ingest_relationships_upsert":
        return await store.execute("ingest_relationships_upsert", rows=rows)
    if name == "ingest_quarantine_upsert":
        return await store.execute("ingest_quarantine_upsert", rows=rows)
    raise ValueError(f"no ingest query named {name!r}")
