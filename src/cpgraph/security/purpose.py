"""The stated purpose of an access: a case reference and a reason.

Sent as the `X-Purpose` header, `<case reference>; <reason>`, for example
`X-Purpose: CP-2024-0193; section 47 enquiry`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cpgraph.security.errors import PurposeRequiredError

PURPOSE_HEADER = "X-Purpose"
PURPOSE_FORMAT = "'<case reference>; <reason>', e.g. 'CP-2024-0193; section 47 enquiry'"

_CASE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.:-]{2,63}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
MIN_REASON = 3
MAX_REASON = 300


@dataclass(frozen=True, slots=True)
class Purpose:
    """A validated purpose of access."""

    case_reference: str
    reason: str

    def __str__(self) -> str:
        return f"{self.case_reference}; {self.reason}"


def parse_purpose(value: str | None, *, action: str = "reading person data") -> Purpose:
    """Parse and validate an `X-Purpose` value.

    Args:
        value: the raw header value (None when absent).
        action: what needs the purpose, for the message when it is missing.

    Returns:
        The purpose.

    Raises:
        PurposeRequiredError: absent, blank or malformed; the message says
            which part is wrong (and never repeats the value).
    """
    if value is None or not value.strip():
        raise PurposeRequiredError(
            f"{action} requires a purpose: send the {PURPOSE_HEADER} header as {PURPOSE_FORMAT}"
        )
    if _CONTROL_RE.search(value):
        raise PurposeRequiredError(f"{PURPOSE_HEADER} must not contain control characters")
    case, sep, reason = value.partition(";")
    case, reason = case.strip(), " ".join(reason.split())
    if not sep or not case or not reason:
        raise PurposeRequiredError(
            f"{PURPOSE_HEADER} needs both a case reference and a reason: {PURPOSE_FORMAT}"
        )
    if not _CASE_RE.match(case):
        raise PurposeRequiredError(
            f"{PURPOSE_HEADER} case reference must be 3-64 letters, digits or / _ . : - "
            "starting with a letter or digit"
        )
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        raise PurposeRequiredError(
            f"{PURPOSE_HEADER} reason must be {MIN_REASON}-{MAX_REASON} characters"
        )
    return Purpose(case, reason)
