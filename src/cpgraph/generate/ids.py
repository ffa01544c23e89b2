"""Deterministic, collision-free identifier allocation (NHS number, UPN, PNC, local ids)."""

from __future__ import annotations

from stdnum.gb import upn as _upn

from cpgraph.contract.identifiers import PNC_CHECK_ALPHABET

_NHS_STRIDE = 104_729  # prime, coprime with the 4e8 range: a counter maps to unique bases
_NHS_RANGE = 400_000_000
_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_check_digit(base9: str) -> int | None:
    """Return the mod-11 check digit for nine digits, or ``None`` when none exists (10)."""
    total = sum(w * int(c) for w, c in zip(_NHS_WEIGHTS, base9, strict=True))
    check = (11 - total % 11) % 11
    return None if check == 10 else check


class Ids:
    """Allocates identifiers; the same call sequence always yields the same ids."""

    def __init__(self, seed: int) -> None:
        self._offset = (seed * 7_777_777) % _NHS_RANGE
        self._nhs = 0
        self._upn = 0
        self._pnc = 0
        self._cro = 0
        self._seq: dict[str, int] = {}

    def next(self, name: str) -> int:
        """Return the next value (from 1) of a named counter."""
        n = self._seq.get(name, 0) + 1
        self._seq[name] = n
        return n

    def nhs(self) -> str:
        """Return a new valid NHS number (10 digits, no spaces)."""
        while True:
            self._nhs += 1
            base = 400_000_000 + (self._nhs * _NHS_STRIDE + self._offset) % _NHS_RANGE
            digits = f"{base:09d}"
            check = nhs_check_digit(digits)
            if check is not None:
                return digits + str(check)

    def upn(self, la: int, year: int) -> str:
        """Return a new valid UPN allocated by local authority ``la`` in ``year``."""
        self._upn += 1
        estab = 2000 + (self._upn // 1000) % 7000
        body = f"{la:03d}{estab:04d}{year % 100:02d}{self._upn % 1000:03d}"
        return _upn.calc_check_digit(body) + body

    def pnc_serial(self) -> int:
        """Return a new PNC serial number (unique, up to seven digits)."""
        self._pnc += 1
        return (self._pnc * 7919 + 12345) % 10_000_000

    def cro(self, year: int) -> str:
        """Return a new CRO number ``NNNNNN/YYL`` (serial, year of issue, check letter).

        Its own counter: allocating CRO numbers never shifts other identifiers.
        """
        self._cro += 1
        serial = (self._cro * 4567 + 2345) % 1_000_000
        yy = year % 100
        letter = PNC_CHECK_ALPHABET[int(f"{yy:02d}{serial:06d}") % 23]
        return f"{serial:06d}/{yy:02d}{letter}"
