"""Named queries only the tests use (`tests/cypher/`), beside the shipped ones.

The product's `cypher/` folder holds what the product runs; tests that write fixtures
directly or read nodes back use these, through a registry built here.
"""

from __future__ import annotations

from pathlib import Path

from cpgraph.store.registry import QueryRegistry

TEST_CYPHER = Path(__file__).parent / "cypher"


def with_test_queries(dialect: str = "falkordb", *more: Path) -> QueryRegistry:
    """The shipped queries of `dialect` plus the tests' own (and any `more` folders)."""
    return QueryRegistry(dialect, extra_dirs=[TEST_CYPHER, *more])
