"""`RefusalLog` counts a refusal as pending until its audit entry is written."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cpgraph.security.errors import AuditUnavailableError
from cpgraph.security.refusals import RefusalLog


class _SlowAudit:
    """An audit log whose append waits for a gate (so a flush can be seen mid-way)."""

    def __init__(self, *, fail: bool = False) -> None:
        self.gate = asyncio.Event()
        self.appended: list[str] = []
        self.fail = fail

    async def append(self, *, user: str, role: str, action: str) -> Any:
        await self.gate.wait()
        if self.fail:
            raise AuditUnavailableError("audit store down")
        self.appended.append(user)
        return user


async def test_a_refusal_stays_pending_while_its_entry_is_being_written() -> None:
    refusals = RefusalLog()
    refusals.note(who="token:a", role="", code="UNAUTHENTICATED", what="person")
    audit = _SlowAudit()
    flush = asyncio.create_task(refusals.flush(audit))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    assert refusals.pending() == 1  # taken off the counter, not yet written
    audit.gate.set()
    assert await flush == ["token:a"]
    assert refusals.pending() == 0


@pytest.mark.parametrize("how", ["unavailable", "cancelled"])
async def test_what_a_flush_could_not_write_is_pending_again(how: str) -> None:
    refusals = RefusalLog()
    refusals.note(who="token:a", role="", code="UNAUTHENTICATED", what="person")
    refusals.note(who="token:b", role="", code="UNAUTHENTICATED", what="person")
    audit = _SlowAudit(fail=how == "unavailable")
    flush = asyncio.create_task(refusals.flush(audit))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    if how == "cancelled":
        flush.cancel()
        with pytest.raises(asyncio.CancelledError):
            await flush
    else:
        audit.gate.set()
        assert await flush == []
    assert refusals.pending() == 2
    audit.fail, audit.gate = False, asyncio.Event()
    audit.gate.set()
    assert sorted(await refusals.flush(audit)) == ["token:a", "token:b"]  # type: ignore[arg-type]
    assert refusals.pending() == 0
