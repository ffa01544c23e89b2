"""Closed vocabularies of the graph model.

Cypher cannot parameterise labels or relationship types, so any query that
needs one spliced in takes it from these enums and nowhere else.
"""

from __future__ import annotations

from enum import StrEnum


class Label(StrEnum):
    """Node labels of the graph model (names are the contract between layers)."""

    SOURCE_RECORD = "SourceRecord"
    PERSON = "Person"
    EVENT = "Event"
    ADDRESS = "Address"
    ORGANISATION = "Organisation"
    LOAD = "Load"
    QUARANTINED_ROW = "QuarantinedRow"
    RECORD_VERSION = "RecordVersion"
    REVIEW_CANDIDATE = "ReviewCandidate"
    DECISION = "Decision"
    USER = "User"
    AUDIT_ENTRY = "AuditEntry"
    META = "Meta"
    FLAG = "Flag"


class RelType(StrEnum):
    """Relationship types of the graph model."""

    RESOLVES_TO = "RESOLVES_TO"
    INVOLVED_IN = "INVOLVED_IN"
    STATED_RELATIONSHIP = "STATED_RELATIONSHIP"
    RELATED_TO = "RELATED_TO"
    AT_ADDRESS = "AT_ADDRESS"
    OCCURRED_AT = "OCCURRED_AT"
    RECORDED_BY = "RECORDED_BY"
    ENROLLED_AT = "ENROLLED_AT"
    HELD_AT = "HELD_AT"
    HAS_VERSION = "HAS_VERSION"
    RETIRED_INTO = "RETIRED_INTO"
    HAS_FLAG = "HAS_FLAG"
