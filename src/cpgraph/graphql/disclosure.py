"""Fields that disclose record keys or person ids note them for the audit entry as resolved.

A key or id is noted when its field is actually selected and resolved, so the audit
entry names what the answer shows (a partner's profile summary, which may not select
`Identifier.recordKeys`, is not charged with them). Person objects note themselves
through `types.person_ref`; this covers the ids and keys that travel as plain strings
(`Relationship.sources`, `TimelineEvent.recordKeys`, `NetworkEdge.source`...).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

import strawberry
from strawberry.extensions.field_extension import (
    AsyncExtensionResolver,
    FieldExtension,
    SyncExtensionResolver,
)
from strawberry.types import Info


class Disclosed(Enum):
    """What a field's strings are."""

    RECORDS = "records"
    PERSONS = "persons"


# network node and edge ids: `person:<id>` names a person, `event:<id>` an event
PERSON_NODE_PREFIX = "person:"


def _strings(value: Any) -> Iterable[str]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return (str(v) for v in value if v is not None)


class Discloses(FieldExtension):
    """Notes every string a field returns as a disclosed record key or person id."""

    def __init__(self, kind: Disclosed, *, node_ids: bool = False) -> None:
        """Note the field's values as `kind`.

        Args:
            kind: record keys or person ids.
            node_ids: the values are network ids; only `person:<id>` ones name a person.
        """
        self.kind = kind
        self.node_ids = node_ids

    def _note(self, info: Info, value: Any) -> None:
        ctx = info.context
        note = ctx.saw_record if self.kind is Disclosed.RECORDS else ctx.saw_person
        for item in _strings(value):
            if self.node_ids:
                if not item.startswith(PERSON_NODE_PREFIX):
                    continue
                item = item[len(PERSON_NODE_PREFIX) :]
            note(item)

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Info, **kwargs: Any) -> Any:
        """Resolve the field, then note what it returns."""
        value = next_(source, info, **kwargs)
        self._note(info, value)
        return value

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any
    ) -> Any:
        """Resolve the field, then note what it returns."""
        value = await next_(source, info, **kwargs)
        self._note(info, value)
        return value


def record_keys_field(**kwargs: Any) -> Any:
    """A `strawberry.field` of record keys, noted when resolved (kwargs: the field's)."""
    return strawberry.field(extensions=[Discloses(Disclosed.RECORDS)], **kwargs)


def person_ids_field(*, node_ids: bool = False, **kwargs: Any) -> Any:
    """A `strawberry.field` of person ids (or network node ids), noted when resolved."""
    return strawberry.field(extensions=[Discloses(Disclosed.PERSONS, node_ids=node_ids)], **kwargs)
