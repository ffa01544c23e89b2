"""Export styles: the same extracts written the way another agency's export writes them.

The contract (docs/extracts.md) leaves a source system room in how it writes what it
holds. The ``contract`` style is the generator's own, plain way. The ``varied`` style
rewrites every CSV file of a generated population, after it is written and before
its manifest is declared, in the other ways the contract allows, so a population
built with it holds exactly the same people, rows, row errors and truth:

- a byte-order mark, CRLF or LF line ends, another column order, optional columns
  the system never fills left out, and a column of its own;
- UK dates and date-times, `Y`/`N`/`yes`/`1` booleans, codes in capitals or in words
  (`Domestic Abuse`, `EX-PARTNER`), `Male`/`female` for `M`/`F` (outside the
  contract's letters, but real exports write them);
- every given name in the forename column, names in capitals or lower case with
  stray spaces, aliases spaced and some written surname first (`SMITH, John`);
- postcodes without their space, NHS numbers in groups, short-form PNC ids,
  lower-case UPNs, ids padded with spaces.

FHIR bundles are left as they are. Whatever the style, linkage and flags must give
the same result (``tests/integration/linkage/test_contract_encodings.py``).
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from pathlib import Path

from cpgraph.contract.spec import FileSpec

#: The export styles `cpgraph generate --export-style` knows.
EXPORT_STYLES = ("contract", "varied")

NAME_COLUMNS = frozenset({"forename", "middle_names", "surname", "former_surname"})
_BOOLEANS = {True: ("Y", "yes", "1", "TRUE", "True"), False: ("N", "no", "0", "FALSE", "False")}


def _uk_date(value: str) -> str:
    y, m, d = value.split("-")
    return f"{d}/{m}/{y}"


def _name(value: str, rng: random.Random) -> str:
    cased = rng.choice((str.upper, str.lower, str.title, str))(value)
    return rng.choice(("", " ", "  ")) + cased.replace(" ", rng.choice((" ", "  "))) + " "


def _postcode(value: str, rng: random.Random) -> str:
    return rng.choice((value.replace(" ", ""), value.lower(), f" {value} "))


def _nhs(value: str) -> str:
    digits = value.replace(" ", "")
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else value


def _pnc(value: str) -> str:
    # long YYYY/NNNNNNND -> short YY/NNNNNNND (the same id, docs/extracts.md)
    year, _, rest = value.partition("/")
    return f"{year[2:]}/{rest}" if len(year) == 4 and rest else value


def _surname_first(alias: str, rng: random.Random) -> str:
    # "John Paul Smith" -> "SMITH, John Paul", as nominal indexes write names
    *forenames, surname = alias.split()
    if not forenames or rng.random() < 0.5:
        return alias
    return f"{surname.upper()}, {' '.join(forenames)}"


def _aliases(value: str, rng: random.Random) -> str:
    return " ; ".join(
        _name(_surname_first(a.strip(), rng), rng) for a in value.split(";") if a.strip()
    )


# Per column: value, rng -> how another export writes it
_ENCODERS: dict[str, Callable[[str, random.Random], str]] = {
    "postcode": _postcode,
    "nhs_number": lambda v, _: _nhs(v),
    "pnc_id": lambda v, _: _pnc(v),
    "upn": lambda v, _: v.lower(),
    "former_upn": lambda v, _: v.lower(),
    "aliases": _aliases,
    # the letter, or the word some exports write (outside the enum: a warning)
    "gender": lambda v, rng: rng.choice((v.lower(), {"M": "Male", "F": "female"}.get(v, v))),
}


def _cell(spec: FileSpec, column: str, value: str, rng: random.Random) -> str:
    if not value:
        return value
    if column in spec.dates and len(value) == 10 and value[4] == "-":
        return _uk_date(value)
    if column in spec.datetimes and len(value) >= 10 and value[4] == "-":
        # a local date-time written the UK way: 14/06/2025 00:00 (with a zone: as it is)
        day, _, clock = value.partition("T")
        if len(day) == 10 and not clock.endswith("Z") and "+" not in clock:
            return f"{_uk_date(day)} {clock[:5] or '00:00'}" + clock[5:8]
        return value
    if column in spec.booleans and value.lower() in ("true", "false"):
        return rng.choice(_BOOLEANS[value.lower() == "true"])
    if column in NAME_COLUMNS:
        return _name(value, rng)
    if column in _ENCODERS:
        return _ENCODERS[column](value, rng)
    if column in spec.enums:
        # a code in capitals, or in words: "DOMESTIC_ABUSE", "Domestic Abuse", "ex-partner"
        return rng.choice(
            (value, value.upper(), value.replace("_", " ").title(), value.replace("_", "-"))
        )
    if column == spec.id_column or column.endswith("_id"):
        return f" {value} "
    return value


def restyle_csv(path: Path, spec: FileSpec, rng: random.Random) -> None:
    """Rewrite one CSV file of an extract in the ``varied`` style (see the module).

    The rows, their physical lines and their row errors stay what they were: a row
    with more fields than the header keeps its extra fields, a file whose last row
    has no line end keeps it that way.

    Args:
        path: the CSV file, as the generator wrote it.
        spec: the file's contract spec.
        rng: the style's own random stream (never the population's).
    """
    data = path.read_bytes()
    with path.open(newline="", encoding="utf-8-sig") as fh:
        header, *rows = list(csv.reader(fh))
    # an optional column this export never fills is left out of its header
    unused = {
        i
        for i, name in enumerate(header)
        if name not in spec.required and not any(i < len(r) and r[i].strip() for r in rows)
    }
    order = [i for i in range(len(header)) if i not in unused]
    rng.shuffle(order)
    given = (
        (header.index("forename"), header.index("middle_names"))
        if "middle_names" in header and "forename" in header
        else None
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=rng.choice(("\n", "\r\n")))
    # ...and it has a column of its own, which the loader ignores (and reports)
    writer.writerow([header[i] for i in order] + ["export_batch"])
    for row in rows:
        if given and len(row) == len(header) and row[given[1]].strip() and rng.random() < 0.5:
            # all given names in the forename column, none in the middle one
            row[given[0]] = f"{row[given[0]].strip()} {row[given[1]].strip()}"
            row[given[1]] = ""
        cells = [_cell(spec, header[i], row[i], rng) if i < len(row) else "" for i in order]
        # a row with more fields than the header keeps them: still the row error it was
        writer.writerow([*cells, "7", *row[len(header) :]])
    text = out.getvalue()
    if rows and not data.endswith(b"\n"):
        text = text.rstrip("\r\n")  # a cut-off last row stays cut off
    path.write_bytes("\ufeff".encode() + text.encode("utf-8"))
