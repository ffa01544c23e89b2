"""The CPU pool's jobs stop with their request (`cpgraph.work`)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from cpgraph.work import JobCancelledError, WorkPool, check_cancelled, request_scope


class _Job:
    """Steps until told to stop; counts its steps."""

    def __init__(self) -> None:
        self.steps = 0
        self.running = threading.Event()

    def __call__(self) -> None:
        while True:
            check_cancelled()
            self.steps += 1
            self.running.set()
            threading.Event().wait(0.002)


async def test_a_request_stopped_stops_its_running_job_and_never_starts_its_queued_one():
    """The moment a request's time runs out its jobs are told, before the loop has
    cancelled the tasks awaiting them: the running job stops, and the one queued behind
    it on the only worker never starts, however late the loop unwinds the request."""
    pool = WorkPool(workers=1, queue=4)
    job, queued = _Job(), _Job()
    try:
        with request_scope() as stop:
            running = asyncio.ensure_future(pool.run(job))
            waiting = asyncio.ensure_future(pool.run(queued))
            assert await asyncio.to_thread(job.running.wait, 10)
        stop.set()  # (the server sets it when the request expires; no task is cancelled)
        # (bounded: a job that is not told would run on; the timeout cancels it then)
        with pytest.raises(JobCancelledError):
            await asyncio.wait_for(running, 10)
        with pytest.raises(JobCancelledError):
            await asyncio.wait_for(waiting, 10)
        assert queued.steps == 0 and not queued.running.is_set()
        assert pool.started == 1
    finally:
        pool.close()


async def test_a_job_outside_any_request_scope_is_not_stopped_by_another_request():
    pool = WorkPool(workers=1, queue=1)
    try:
        with request_scope() as other:
            other.set()
        assert await pool.run(lambda: 41 + 1) == 42
    finally:
        pool.close()
