"""One exception hierarchy for cpgraph.

Messages never carry personal data: they name queries, files, line numbers,
settings and counts, never the values of a person's record.
"""

from __future__ import annotations


class CpgraphError(Exception):
    """Base class of every error cpgraph raises on purpose."""


class ConfigError(CpgraphError):
    """The configuration is invalid or incomplete."""


class StoreError(CpgraphError):
    """A graph store operation failed."""


class StoreUnavailableError(StoreError):
    """The graph store could not be reached or started."""


class DataDirLockedError(StoreUnavailableError):
    """Another process owns the embedded store's data directory and cannot share it."""


class QueryError(StoreError):
    """A named query failed in the database.

    Attributes:
        query_name: the registry name of the query that failed.
    """

    def __init__(self, query_name: str, message: str) -> None:
        super().__init__(f"query {query_name!r} failed: {message}")
        self.query_name = query_name


class ConstraintViolationError(QueryError):
    """A write broke a uniqueness constraint."""


class UnknownQueryError(StoreError):
    """A query name that is not in the registry was requested."""


class RegistryError(StoreError):
    """The Cypher registry on disk is malformed (raised at start-up)."""


class IngestError(CpgraphError):
    """An extract cannot be loaded at all (bad manifest, unreadable files...)."""


class LinkageError(CpgraphError):
    """Record linkage could not run (bad specification, no mentions...)."""
