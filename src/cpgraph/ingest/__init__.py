"""Ingest: read agency extracts, validate, normalise, quarantine, and write the graph.

Public API:

- :func:`load_extract` / :func:`load_extracts`: load extract folders.
- :func:`prepare_extract`: check a folder without writing (what ``load`` does first).
- :func:`list_quarantine` / :func:`list_loads`: read back quarantined rows and loads.
- :func:`render_report`: a rich renderable of a :class:`LoadReport`.
"""

from cpgraph.ingest.engine import (
    ExtractPlan,
    ProgressFn,
    load_extract,
    load_extracts,
    prepare_extract,
    run_plan,
)
from cpgraph.ingest.errors import (
    EmptyFileError,
    ExtractFileError,
    FieldTooLargeError,
    ManifestError,
    MappingError,
    MissingColumnsError,
    NotCsvError,
    StaleExtractError,
    UnknownAgencyError,
    WrongAgencyError,
)
from cpgraph.ingest.quarantine import (
    QuarantinedRow,
    list_loads,
    list_quarantine,
    record_versions,
)
from cpgraph.ingest.report import FileReport, LoadReport, render_report

__all__ = [
    "EmptyFileError",
    "ExtractFileError",
    "ExtractPlan",
    "FieldTooLargeError",
    "FileReport",
    "LoadReport",
    "ManifestError",
    "MappingError",
    "MissingColumnsError",
    "NotCsvError",
    "ProgressFn",
    "QuarantinedRow",
    "StaleExtractError",
    "UnknownAgencyError",
    "WrongAgencyError",
    "list_loads",
    "list_quarantine",
    "load_extract",
    "load_extracts",
    "prepare_extract",
    "record_versions",
    "render_report",
    "run_plan",
]
