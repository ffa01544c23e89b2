"""Identifier check algorithms shared by the generator, the contract validator and loaders.

NHS numbers and UPNs are checked with python-stdnum (``stdnum.gb.nhs``,
``stdnum.gb.upn``); the Police National Computer id has no stdnum module, so its
check letter is implemented here once.
"""

from __future__ import annotations

import re

from stdnum.gb import nhs, upn

#: The 23 letters a PNC check character is drawn from, indexed by the remainder.
PNC_CHECK_ALPHABET = "ZABCDEFGHJKLMNPQRTUVWXY"

_PNC_RE = re.compile(r"^(\d{2}|\d{4})/(\d{1,7})([A-Za-z])$")


def pnc_check_letter(year: int | str, serial: int | str) -> str:
    """Return the check letter of a PNC id.

    The check character is ``int(YY + NNNNNNN) mod 23`` looked up in
    ``ZABCDEFGHJKLMNPQRTUVWXY``, where ``YY`` is the last two digits of the year
    and ``NNNNNNN`` the serial number zero-padded to seven digits (the short form
    without the slash and the letter).

    Args:
        year: Two- or four-digit year of the PNC id (``2004``, ``"04"``).
        serial: Serial number (up to seven digits).

    Returns:
        The upper-case check letter.
    """
    yy = f"{int(year) % 100:02d}"
    nnn = f"{int(serial):07d}"
    return PNC_CHECK_ALPHABET[int(yy + nnn) % 23]


def parse_pnc(value: str) -> tuple[str, str, str] | None:
    """Split a PNC id as typed into (year digits, serial, check letter).

    Accepts long ``YYYY/NNNNNNNL`` and short ``YY/NNNNNNNL`` forms with stray
    whitespace and any case. Returns ``None`` if the shape is wrong (the check
    letter is not verified here).
    """
    m = _PNC_RE.match(re.sub(r"\s+", "", value or ""))
    if not m:
        return None
    return m.group(1), m.group(2), m.group(3).upper()


def pnc_is_valid(value: str) -> bool:
    """Tell whether a PNC id (long or short form, as typed) has a correct check letter."""
    parts = parse_pnc(value)
    if parts is None:
        return False
    year, serial, letter = parts
    return pnc_check_letter(year, serial) == letter


def pnc_canonical(value: str) -> str | None:
    """Return the canonical long-ish form ``YY/NNNNNNNL`` of a valid PNC id, else ``None``.

    Only the two-digit year enters the check, so short and long forms of the same
    id canonicalise alike.
    """
    parts = parse_pnc(value)
    if parts is None or not pnc_is_valid(value):
        return None
    year, serial, letter = parts
    return f"{int(year) % 100:02d}/{int(serial):07d}{letter}"


def format_pnc(year: int, serial: int, short: bool = False) -> str:
    """Format a valid PNC id from its parts.

    Args:
        year: Four-digit year.
        serial: Serial number.
        short: Use the ``YY/NNNNNNNL`` short form.
    """
    letter = pnc_check_letter(year, serial)
    y = f"{year % 100:02d}" if short else f"{year:04d}"
    return f"{y}/{serial:07d}{letter}"


def nhs_is_valid(value: str) -> bool:
    """Tell whether an NHS number as typed (spaces/dashes allowed) passes mod-11."""
    return nhs.is_valid(value or "")


def upn_is_valid(value: str) -> bool:
    """Tell whether a UPN as typed (any case, spaces allowed) is valid."""
    return upn.is_valid(value or "")
