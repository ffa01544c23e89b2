"""The extract data contract (``docs/extracts.md``) in code.

- :mod:`cpgraph.contract.spec`: file/column specifications per agency.
- :mod:`cpgraph.contract.identifiers`: PNC check letter, NHS/UPN validity.
- :func:`validate_extract`: check an extract folder, returning :class:`Problem` s.
"""

from cpgraph.contract.validate import (
    ERROR,
    WARNING,
    Problem,
    parse_bool,
    parse_date,
    parse_datetime,
    validate_extract,
)

__all__ = [
    "ERROR",
    "WARNING",
    "Problem",
    "parse_bool",
    "parse_date",
    "parse_datetime",
    "validate_extract",
]
