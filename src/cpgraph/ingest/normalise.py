"""Normalisation of values as agencies write them: names, dates, postcodes, identifiers.

Every function is pure and total: it never raises on odd input. Parsers of dates
return ``None`` for anything unparseable (the caller turns that into a row
error); identifier normalisers always return a value plus a validity flag,
because a malformed identifier is kept and flagged, never dropped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

from stdnum.gb import nhs as _nhs
from stdnum.gb import upn as _upn

from cpgraph.contract import values
from cpgraph.contract.identifiers import pnc_check_letter

_WS_RE = re.compile(r"\s+")

# Outward code: area (1-2 letters), district (digit + optional digit/letter);
# inward code: digit + two letters. GIR 0AA is the one historic exception.
_POSTCODE_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")

_PNC_RE = re.compile(r"^(\d{2}|\d{4})/(\d{1,7})([A-Z])$")


def clean_text(value: str | None) -> str | None:
    """Trim and collapse whitespace runs to one space; empty becomes ``None``."""
    if value is None:
        return None
    # Fast path: every whitespace character but the plain space is unprintable, so a
    # printable value without a double space has no run to collapse.
    if value.isprintable() and "  " not in value:
        return value.strip() or None
    text = _WS_RE.sub(" ", value).strip()
    return text or None


def display_name(value: str | None) -> str | None:
    """A name as recorded, tidied: trimmed, whitespace collapsed, case and accents kept."""
    return clean_text(value)


@lru_cache(maxsize=1 << 16)  # names, dates and postcodes repeat a lot
def parse_date(value: str | None) -> str | None:
    """Parse a contract date (``YYYY-MM-DD`` or UK ``DD/MM/YYYY``) into ISO ``YYYY-MM-DD``.

    Returns:
        The ISO date, or ``None`` if the value is not a real calendar date in
        one of the two accepted forms (`cpgraph.contract.values.parse_date`).
    """
    parsed = values.parse_date(value)
    return parsed.isoformat() if parsed is not None else None


def parse_datetime(value: str | None) -> str | None:
    """Parse an ISO 8601 date-time (a bare contract date is accepted).

    Returns:
        ``YYYY-MM-DDTHH:MM:SS`` (plus ``+HH:MM`` when the value carried an
        offset; ``Z`` becomes ``+00:00``), or ``None`` when unparseable.
    """
    parsed = values.parse_datetime(value)
    return parsed.isoformat(timespec="seconds") if parsed is not None else None


def utc_timestamp(value: str) -> str | None:
    """Parse an ISO date-time and return it in UTC as ``YYYY-MM-DDTHH:MM:SSZ``.

    Naive values are taken as UTC. Used for manifest ``extracted_at`` so two
    spellings of the same instant name the same load.
    """
    iso = parse_datetime(value)
    if iso is None:
        return None
    parsed = datetime.fromisoformat(iso)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


parse_bool = values.parse_bool


def parse_int(value: str | None) -> int | None:
    """Parse a non-negative integer cell (surrounding spaces allowed), else ``None``."""
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


@lru_cache(maxsize=1 << 16)  # names, dates and postcodes repeat a lot
def normalise_postcode(value: str | None) -> tuple[str | None, bool | None]:
    """Canonicalise a UK postcode to ``AA9A 9AA`` form.

    Returns:
        ``(postcode, valid)``: the canonical form and ``True`` when it looks like
        a UK postcode; otherwise the upper-cased, whitespace-collapsed value and
        ``False``; ``(None, None)`` when empty.
    """
    text = clean_text(value)
    if text is None:
        return None, None
    upper = text.upper()
    compact = upper.replace(" ", "")
    if compact == "GIR0AA":
        return "GIR 0AA", True
    m = _POSTCODE_RE.match(compact)
    if m:
        return f"{m.group(1)} {m.group(2)}", True
    return upper, False


def normalise_nhs_number(value: str | None) -> tuple[str | None, bool | None]:
    """Normalise an NHS number: digits only, validity by the mod-11 check (python-stdnum).

    Spaces and dashes typed inside the number are removed. A value with other
    characters is kept (without separators) and flagged invalid.
    """
    text = clean_text(value)
    if text is None:
        return None, None
    # clean_text left single spaces as the only whitespace.
    compact = text.replace(" ", "").replace("-", "").upper()
    # Already compact: python-stdnum's length and mod-11 check without its re-cleaning.
    valid = len(compact) == 10 and compact.isascii() and compact.isdigit()
    return compact, valid and _nhs.checksum(compact) == 0


def normalise_upn(value: str | None) -> tuple[str | None, bool | None]:
    """Normalise a Unique Pupil Number: upper case, no spaces; validity by python-stdnum."""
    text = clean_text(value)
    if text is None:
        return None, None
    compact = text.replace(" ", "").upper()
    return compact, _upn.is_valid(compact)


def pnc_century(yy: int, pivot_year: int) -> int:
    """Expand a two-digit PNC year to four digits.

    Rule: a two-digit year not after the pivot's two-digit year is 20YY,
    otherwise 19YY. The pivot is the year the extract was taken, so an id can
    never be dated in the future of its own extract.
    """
    return 2000 + yy if yy <= pivot_year % 100 else 1900 + yy


def normalise_pnc_id(value: str | None, pivot_year: int) -> tuple[str | None, bool | None]:
    """Canonicalise a PNC id to the long form ``YYYY/NNNNNNNL`` and check its letter.

    Accepts long ``YYYY/NNNNNNNL`` and short ``YY/NNNNNNNL`` forms, any case,
    stray spaces. Short years are expanded with :func:`pnc_century`. The check
    letter covers only the two-digit year and serial, so both forms of the same
    id agree.

    Returns:
        ``(canonical, valid)``; a value of the wrong shape is returned
        upper-cased without spaces and flagged invalid.
    """
    text = clean_text(value)
    if text is None:
        return None, None
    compact = text.replace(" ", "").upper()
    m = _PNC_RE.match(compact)
    if not m:
        return compact, False
    year_digits, serial, letter = m.group(1), m.group(2), m.group(3)
    year = int(year_digits) if len(year_digits) == 4 else pnc_century(int(year_digits), pivot_year)
    canonical = f"{year:04d}/{int(serial):07d}{letter}"
    return canonical, pnc_check_letter(year, serial) == letter


def normalise_code(value: str | None) -> str | None:
    """Normalise a case-insensitive code (prison number, CRO number): upper, no spaces."""
    text = clean_text(value)
    return text.replace(" ", "").upper() if text else None


_CODE_SEPARATORS = re.compile(r"[\s\-_]+")


def fold_code(value: str) -> str:
    """A code's folded form: casefolded, runs of spaces, hyphens and underscores as one
    ``_`` (``Domestic Abuse``, ``DOMESTIC-ABUSE`` and ``domestic_abuse`` fold alike)."""
    return _CODE_SEPARATORS.sub("_", value.strip().casefold())


def name_order(full_name: str) -> str:
    """A full name in forename-first order: ``SMITH, John Paul`` → ``John Paul SMITH``.

    Indexes (police nominal indexes above all) write names surname first with a
    comma; an alias recorded that way must still give its surname as the surname.
    Without exactly one comma the name is already forename first and is returned as
    it is.
    """
    surname, comma, forenames = full_name.partition(",")
    if not comma or "," in forenames or not surname.strip() or not forenames.strip():
        return full_name
    return f"{forenames.strip()} {surname.strip()}"


def split_list(value: str | None, separator: str = ";") -> list[str]:
    """Split a ``;``-separated cell into tidied, non-empty items (order kept)."""
    if not value:
        return []
    items = (clean_text(part) for part in value.split(separator))
    return [item for item in items if item]
