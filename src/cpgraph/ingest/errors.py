"""Why a whole extract cannot be loaded.

Each error names the extract folder, the file, the line or the field concerned
— never a cell value — so messages are safe to print and log.
"""

from __future__ import annotations

from cpgraph.errors import IngestError


class ManifestError(IngestError):
    """``manifest.json`` is missing, not JSON, or lacks/garbles a required field."""


class UnknownAgencyError(ManifestError):
    """The manifest names an agency (or format) cpgraph has no mapping for."""


class WrongAgencyError(IngestError):
    """The folder's files are not the files of the agency the manifest names."""


class MappingError(IngestError):
    """A mapping file under ``loaders/`` is malformed (a programming error, not data)."""


class ExtractFileError(IngestError):
    """One file of the extract is unusable, which makes the whole extract unusable."""


class EmptyFileError(ExtractFileError):
    """A listed file is present but has no header row."""


class NotCsvError(ExtractFileError):
    """A ``.csv`` file is not UTF-8 CSV text (binary content, bad encoding, broken quoting)."""


class FieldTooLargeError(ExtractFileError):
    """A single CSV field is larger than the loader's limit."""


class MissingColumnsError(ExtractFileError):
    """A CSV header lacks columns the contract requires."""


class StaleExtractError(IngestError):
    """A newer extract of the same system is already loaded; loading this one would go back."""
