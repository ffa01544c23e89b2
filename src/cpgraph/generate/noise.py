"""Recording noise: how agencies really type names, dates, identifiers and postcodes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

_KEYBOARD = {
    "a": "qs",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "q": "w",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "x": "zc",
    "y": "tu",
    "z": "x",
}


@dataclass(frozen=True)
class Habit:
    """How one source system records people.

    Attributes:
        uk_dates: Share of dates written ``DD/MM/YYYY`` (else ISO).
        upper: Share of names written in upper case.
        pnc_short: Share of PNC ids written in short ``YY/NNNNNNNL`` form.
        typo: Share of names with a keying error.
    """

    uk_dates: float = 0.0
    upper: float = 0.0
    pnc_short: float = 0.0
    typo: float = 0.015


def typo(rng: random.Random, s: str) -> str:
    """Introduce one keying error (substitution, deletion, transposition or doubling)."""
    if len(s) < 4:
        return s
    i = rng.randrange(1, len(s) - 1)
    kind = rng.randrange(4)
    ch = s[i]
    if kind == 0 and ch.lower() in _KEYBOARD:
        rep = rng.choice(_KEYBOARD[ch.lower()])
        return s[:i] + (rep.upper() if ch.isupper() else rep) + s[i + 1 :]
    if kind == 1:
        return s[:i] + s[i + 1 :]
    if kind == 2 and s[i] != s[i + 1]:
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    return s[:i] + ch + s[i:]


def name(rng: random.Random, s: str, habit: Habit) -> str:
    """Write a name the way the system's staff would: case, typos, stray spaces."""
    if not s:
        return s
    if rng.random() < habit.typo:
        s = typo(rng, s)
    r = rng.random()
    if r < habit.upper:
        s = s.upper()
    elif r > 0.99:
        s = s.lower()
    r = rng.random()
    if r < 0.01:
        s = s + " "
    elif r < 0.02:
        s = " " + s
    elif r < 0.025 and " " in s:
        s = s.replace(" ", "  ", 1)
    return s


def fmt_date(d: date | None, rng: random.Random, habit: Habit) -> str:
    """Write a date ISO or UK style per the system's habit (empty if missing)."""
    if d is None:
        return ""
    if habit.uk_dates and rng.random() < habit.uk_dates:
        return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"
    return d.isoformat()


def dob(
    rng: random.Random,
    d: date | None,
    missing: float = 0.0,
    swap: float = 0.015,
    day_off: float = 0.007,
    year_off: float = 0.005,
    digits: float = 0.0,
) -> date | None:
    """Return a date of birth as recorded: sometimes missing, day/month swapped or a day out.

    One ``rng.random()`` decides the error (plus one for ``missing`` when non-zero), so
    changing the rates never changes how many numbers are drawn.

    Args:
        rng: Random stream.
        d: The true date of birth (``None``: unknown).
        missing: Share left blank.
        swap: Share with day and month swapped (when the day could be a month).
        day_off: Share a day out.
        year_off: Share a year out.
        digits: Share with two digits transposed (day 13 -> 31, year 1987 -> 1978).

    Returns:
        The date as recorded, or ``None``.
    """
    if d is None or (missing and rng.random() < missing):
        return None
    r = rng.random()
    # cumulative bands, rounded so that the defaults are exactly 0.015, 0.022, 0.027
    c_day = round(swap + day_off, 12)
    c_year = round(c_day + year_off, 12)
    c_digits = round(c_year + digits, 12)
    if r < swap and d.day <= 12 and d.day != d.month:
        return date(d.year, d.day, d.month)
    if r < c_day:
        try:
            return d.replace(day=d.day + (1 if d.day < 28 else -1))
        except ValueError:  # pragma: no cover - day 28 +/- 1 is always valid
            return d
    if r < c_year:
        try:
            return d.replace(year=d.year + rng.choice((-1, 1)))
        except ValueError:  # 29 February
            return d
    if r < c_digits:
        return _transpose_digits(d, day_first=(r - c_year) < digits / 2)
    return d


def _transpose_digits(d: date, day_first: bool) -> date:
    """Swap the two digits of the day (13 -> 31) or the last two of the year (1987 -> 1978)."""
    tens, units = divmod(d.day, 10)
    if day_first and tens and tens != units:
        try:
            return d.replace(day=units * 10 + tens)
        except ValueError:  # 31 February: fall back to the year
            pass
    century, rest = divmod(d.year, 100)
    tens, units = divmod(rest, 10)
    year = century * 100 + units * 10 + tens
    if tens != units and year <= 2026:
        try:
            return d.replace(year=year)
        except ValueError:  # 29 February
            return d
    return d


def nhs(rng: random.Random, number: str | None, missing: float = 0.0) -> str:
    """Type an NHS number: with spaces, sometimes a digit wrong or missing."""
    if number is None or rng.random() < missing:
        return ""
    r = rng.random()
    if r < 0.02:
        i = rng.randrange(10)
        number = number[:i] + str((int(number[i]) + rng.randrange(1, 10)) % 10) + number[i + 1 :]
    r = rng.random()
    if r < 0.35:
        return f"{number[:3]} {number[3:6]} {number[6:]}"
    if r < 0.37:
        return f" {number}"
    return number


def upn(rng: random.Random, value: str | None, spaces: bool = True) -> str:
    """Type a UPN: mostly upper case, sometimes lower case or (``spaces``) spaced."""
    if value is None:
        return ""
    r = rng.random()
    if r < 0.05:
        return value.lower()
    if r < 0.07 and spaces:
        return f"{value[:4]} {value[4:]}"
    return value


def postcode(rng: random.Random, pc: str) -> str:
    """Write a postcode with the usual noise: no space, lower case, double space."""
    r = rng.random()
    if r < 0.10:
        return pc.replace(" ", "")
    if r < 0.14:
        return pc.lower()
    if r < 0.16:
        return pc.replace(" ", "  ")
    return pc


def address(rng: random.Random, line: str, habit: Habit) -> str:
    """Write an address line (case habit, occasional abbreviation)."""
    if rng.random() < 0.1:
        line = line.replace(" Road", " Rd").replace(" Street", " St").replace(" Avenue", " Ave")
    if rng.random() < habit.upper:
        line = line.upper()
    return line
