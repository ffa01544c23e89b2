"""CPU work off the event loop: a bounded worker pool whose jobs stop with their request.

The event loop only waits on sockets; anything that computes (building queue items,
re-ranking, explaining) runs here, so `/healthz` and every other request keep
answering. The pool is bounded: when its workers and its queue are full, a job is
refused at once with `OverloadedError` (HTTP 503 with ``Retry-After``) instead of
waiting without end. A job whose request is cancelled (its time limit) is dropped if
it has not started, and told to stop if it has: jobs call `check_cancelled()`
between steps. A request's time limit reaches its jobs the moment it expires
(`request_scope`), before the loop has unwound the request's tasks: a job queued behind
one that stops at the deadline never starts.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from cpgraph.security.errors import AccessError

DEFAULT_RETRY_AFTER_S = 1


class OverloadedError(AccessError):
    """The server is at capacity; try again after `retry_after_s` seconds."""

    code = "OVERLOADED"

    def __init__(self, message: str, retry_after_s: int = DEFAULT_RETRY_AFTER_S) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.extensions["retryAfter"] = retry_after_s


class JobCancelledError(Exception):
    """Raised inside a worker job whose request was cancelled (it then stops)."""


_local = threading.local()
# The current request's "stop now", set when its time limit expires (`request_scope`).
_request_cancelled: ContextVar[threading.Event | None] = ContextVar(
    "cpgraph_request_cancelled", default=None
)


@contextmanager
def request_scope() -> Iterator[threading.Event]:
    """Scope a request: every pool job it runs stops, or never starts, once the event
    this yields is set (the server sets it when the request's time limit expires)."""
    event = threading.Event()
    token = _request_cancelled.set(event)
    try:
        yield event
    finally:
        _request_cancelled.reset(token)


def _stopped(events: tuple[threading.Event | None, ...]) -> bool:
    return any(e is not None and e.is_set() for e in events)


def check_cancelled() -> None:
    """In a pool job: stop (raise `JobCancelledError`) if its request was cancelled.

    Outside a pool job it does nothing, so the same code runs inline too.
    """
    events: tuple[threading.Event | None, ...] | None = getattr(_local, "cancelled", None)
    if events is not None and _stopped(events):
        raise JobCancelledError


class WorkPool:
    """A bounded thread pool for a request's CPU work.

    Attributes:
        workers: threads.
        capacity: jobs running or waiting at most (beyond: `OverloadedError`).
        started: jobs that began running (tests count them).
        finished: jobs that ended, whatever the outcome.
        cancelled: jobs told to stop or dropped before they ran.
    """

    def __init__(self, workers: int = 2, queue: int = 32) -> None:
        """Create the pool (threads start on demand).

        Args:
            workers: worker threads.
            queue: jobs that may wait for a worker.
        """
        self.workers = workers
        self.capacity = workers + queue
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cpgraph-cpu")
        self._lock = threading.Lock()
        self._pending = 0
        self.started = 0
        self.finished = 0
        self.cancelled = 0

    @property
    def pending(self) -> int:
        """Jobs running or waiting now."""
        return self._pending

    def _call[T](
        self,
        fn: Callable[..., T],
        args: tuple[Any, ...],
        events: tuple[threading.Event | None, ...],
    ) -> T:
        if _stopped(events):  # cancelled while it waited: never runs
            raise JobCancelledError
        with self._lock:
            self.started += 1
        _local.cancelled = events
        try:
            return fn(*args)
        finally:
            _local.cancelled = None

    def _done(self, _future: Future[Any]) -> None:
        with self._lock:
            self._pending -= 1
            self.finished += 1

    async def run[T](self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on a worker and wait for it.

        Raises:
            OverloadedError: the pool is full (nothing was queued).
            asyncio.CancelledError: the awaiting task was cancelled; the job is
                dropped or told to stop.
        """
        with self._lock:
            if self._pending >= self.capacity:
                raise OverloadedError("the server is busy; retry shortly")
            self._pending += 1
        event = threading.Event()
        # (the job's own event, set when its awaiting task is cancelled, and its request's)
        future = self._executor.submit(self._call, fn, args, (event, _request_cancelled.get()))
        future.add_done_callback(self._done)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            event.set()
            future.cancel()  # a job that has not started never will
            with self._lock:
                self.cancelled += 1
            raise

    def close(self) -> None:
        """Stop accepting jobs; running ones finish on their own."""
        self._executor.shutdown(wait=False, cancel_futures=True)
