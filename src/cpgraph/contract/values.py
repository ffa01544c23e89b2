"""The contract's cell values: dates, date-times and booleans, parsed in one place.

The validator (`cpgraph.contract.validate`) and the loaders (`cpgraph.ingest`) both read
cells through these, so an extract means the same to both (see docs/extracts.md).
"""

from __future__ import annotations

import re
from datetime import date, datetime

ISO_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
UK_DATE_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
ISO_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
# A UK date with a local time, as UK case systems export them: 14/06/2025 18:30[:05]
UK_DATETIME_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})[T ](\d{1,2}):(\d{2})(?::(\d{2}))?$")

# Booleans, any case. The contract's `true`/`false`, `Y`/`N` and `1`/`0`, and `yes`/`no`,
# which some systems write and which cannot mean anything else.
BOOL_TRUE = frozenset({"true", "y", "yes", "1"})
BOOL_FALSE = frozenset({"false", "n", "no", "0"})


def parse_date(value: str | None) -> date | None:
    """A contract date (``YYYY-MM-DD`` or UK ``D/M/YYYY``), or ``None``.

    Args:
        value: the cell (surrounding spaces allowed).

    Returns:
        The calendar date, or ``None`` when the value is not a real date in one of the
        two accepted forms.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        m = ISO_DATE_RE.match(text)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = UK_DATE_RE.match(text)
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None
    return None


def parse_datetime(value: str | None) -> datetime | None:
    """An ISO 8601 date-time, or ``None``.

    A bare contract date is accepted as midnight, and a UK date with a time
    (``14/06/2025 18:30``, seconds optional) as that local time: the contract accepts
    UK dates, and the systems that write them write their times that way too.
    """
    if value is None:
        return None
    text = value.strip()
    bare = parse_date(text)
    if bare is not None:
        return datetime(bare.year, bare.month, bare.day)
    uk = UK_DATETIME_RE.match(text)
    if uk:
        d, mo, y, h, mi, sec = (int(g) if g else 0 for g in uk.groups())
        try:
            return datetime(y, mo, d, h, mi, sec)
        except ValueError:
            return None
    if not ISO_DATETIME_RE.match(text):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_bool(value: str | None) -> bool | None:
    """A contract boolean (any case), or ``None`` when unreadable."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in BOOL_TRUE:
        return True
    if text in BOOL_FALSE:
        return False
    return None
