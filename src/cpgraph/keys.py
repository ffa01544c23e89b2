"""The identifiers every layer shares: the agency list, record keys, event ids, person ids.

One owner each, so loaders, the contract, linkage and the API agree on them:
- a record (person mention) key is ``{system}:{kind}:{local_id}``, e.g.
  ``wmp-niche:nominal:NM0000031``; an event id is ``{system}:{event type}:{local_id}``;
- a person id is ``P`` and 10 zero-padded digits, handed out by linkage in order.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from hashlib import sha1
from typing import Any

AGENCIES: tuple[str, ...] = ("police", "health", "education", "childrens_services", "prisons")

PERSON_ID_PREFIX = "P"
PERSON_ID_DIGITS = 10


def record_key(system: str, kind: str, local_id: object) -> str:
    """The key of a record of a source system: ``{system}:{kind}:{local_id}``."""
    return f"{system}:{kind}:{local_id}"


def event_id(system: str, event_type: str, local_id: object) -> str:
    """The id of an event of a source system: ``{system}:{event_type}:{local_id}``."""
    return f"{system}:{event_type}:{local_id}"


def split_key(key: str) -> tuple[str, str, str]:
    """``(system, kind, local_id)`` of a record key or event id (the id may hold colons).

    Raises:
        ValueError: the key has fewer than three parts.
    """
    system, kind, local_id = key.split(":", 2)
    return system, kind, local_id


def format_person_id(counter: int) -> str:
    """Person id for a counter value: ``P`` + 10 zero-padded digits."""
    return f"{PERSON_ID_PREFIX}{counter:0{PERSON_ID_DIGITS}d}"


def person_id_counter(pid: str) -> int:
    """The counter of a generated person id (0 for any other id)."""
    digits = pid[len(PERSON_ID_PREFIX) :]
    if pid.startswith(PERSON_ID_PREFIX) and digits.isdigit():
        return int(digits)
    return 0


def content_digest(row: Mapping[str, Any], leave_out: Collection[str]) -> str:
    """A short hash of what a written row says, but for the fields in ``leave_out`` (its
    run, time, positions...): an unchanged row need not be written again.

    Args:
        row: the row as written (JSON values; anything else by its ``str``).
        leave_out: fields that do not count.

    Returns:
        16 hex digits.
    """
    basis = {k: v for k, v in row.items() if k not in leave_out}
    text = json.dumps(basis, sort_keys=True, default=str)
    return sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]
