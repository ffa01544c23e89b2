"""Relay-style cursor connections over in-memory, ordered lists.

Cursors are opaque: URL-safe base64 of `<kind>:<sort key>`. A page is the
items whose sort key comes after the cursor's, so a cursor stays meaningful
when items are added before or after it.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry

from cpgraph.graphql.errors import BadInputError

N = TypeVar("N")


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[N]):  # noqa: UP046 — strawberry generics
    cursor: str
    node: N


@strawberry.type
class Connection(Generic[N]):  # noqa: UP046 — strawberry generics
    edges: list[Edge[N]]
    page_info: PageInfo
    total_count: int | None = strawberry.field(
        description="Items in the whole list, all pages (null when not counted)."
    )


def encode_cursor(kind: str, key: str) -> str:
    """Return the opaque cursor for a sort key."""
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode("ascii")


def decode_cursor(kind: str, cursor: str) -> str:
    """Return the sort key inside a cursor of `kind`.

    Raises:
        BadInputError: not a cursor of this list.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadInputError("invalid cursor for this list") from None
    prefix, sep, key = raw.partition(":")
    if prefix != kind or not sep:
        raise BadInputError("invalid cursor for this list")
    return key


def check_first(first: int, cap: int) -> int:
    """Validate a page size against its cap.

    Raises:
        BadInputError: below 1 or above the cap.
    """
    if not 1 <= first <= cap:
        raise BadInputError(f"first must be between 1 and {cap}")
    return first


@dataclass(frozen=True, slots=True)
class Page[T]:
    """A slice of a list and what a connection needs to describe it."""

    items: list[tuple[str, T]]  # (cursor, item)
    has_next: bool
    total: int


def paginate[T](
    items: Sequence[T],
    *,
    kind: str,
    key: Callable[[T], str],
    first: int,
    after: str | None,
    cap: int,
) -> Page[T]:
    """Cut one page from items already sorted ascending by `key`.

    Args:
        items: the whole list, sorted by `key`.
        kind: list name baked into cursors (a cursor of one list is rejected
            by another).
        key: a unique, sortable string per item.
        first: page size (1..cap).
        after: cursor of the last item of the previous page.
        cap: maximum page size.
    """
    check_first(first, cap)
    keys = [key(i) for i in items]
    start = 0
    if after:
        start = bisect.bisect_right(keys, decode_cursor(kind, after))
    chosen = list(range(start, min(start + first, len(items))))
    return Page(
        items=[(encode_cursor(kind, keys[i]), items[i]) for i in chosen],
        has_next=start + first < len(items),
        total=len(items),
    )


def to_connection[T, R](page: Page[T], convert: Callable[[T], R]) -> Connection[R]:
    """Turn a page into a GraphQL connection, converting each item."""
    edges = [Edge(cursor=c, node=convert(i)) for c, i in page.items]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
        ),
        total_count=page.total,
    )
