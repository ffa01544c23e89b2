"""Work in a forked process alongside the linkage run, with its tables inherited.

A forked child inherits the prepared tables, candidate pairs and scorer by copy-on-write,
so nothing big is pickled on the way in; only the job's result comes back through a
pipe. No module state is handed over: the job is a closure the child already has.

The child dies with its parent (``PR_SET_PDEATHSIG``), so a ``kill -9`` of
``cpgraph link`` leaves no worker holding the data directory's lock; a child that dies
(e.g. the kernel's OOM killer) is a :class:`~cpgraph.errors.LinkageError`, not a hang.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import warnings
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import psutil

from cpgraph.errors import LinkageError

# rapidfuzz threads for string comparisons in this context (see `comparison_threads`)
COMPARISON_THREADS: ContextVar[int] = ContextVar("comparison_threads", default=1)
_PR_SET_PDEATHSIG = 1


def can_fork() -> bool:
    """Whether this platform can fork (Linux, macOS; not Windows)."""
    return sys.platform != "win32" and "fork" in mp.get_all_start_methods()


@contextlib.contextmanager
def comparison_threads(n: int) -> Iterator[None]:
    """Use ``n`` rapidfuzz threads for comparisons made inside the block."""
    token = COMPARISON_THREADS.set(max(1, int(n)))
    try:
        yield
    finally:
        COMPARISON_THREADS.reset(token)


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _child(job: Callable[[], Any], conn: Connection, parent: int) -> None:
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    # the parent's rapidfuzz worker threads did not survive the fork: compare on this one
    COMPARISON_THREADS.set(1)
    try:
        result: tuple[str, Any] = ("ok", job())
    except BaseException as exc:  # noqa: BLE001 — handed to the parent, which raises it
        result = ("error", exc)
    try:
        conn.send(result)
    finally:
        conn.close()
        os._exit(0)  # no atexit handlers or finalisers of the parent's objects


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``).

    A stage's temporaries are freed when it ends, but glibc keeps freed heap memory
    for reuse (and, after large frees, serves arrays of up to 32 MB from the heap
    rather than from their own mappings), so the process stays as large as its
    busiest moment. Called between stages, it costs a walk of the heap. No-op
    where glibc is not the allocator.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def _available() -> int | None:
    """Memory the machine can still give (the kernel's MemAvailable on Linux)."""
    try:
        return int(psutil.virtual_memory().available)
    except (psutil.Error, OSError, RuntimeError):
        return None


def _own_rss() -> int | None:
    try:
        return int(psutil.Process().memory_info().rss)
    except (psutil.Error, OSError):
        return None


# forked children started by `in_fork` and not yet waited for (each may hold a copy)
_LIVE: set[int] = set()


def fork_fits(budget: int | None = None, grows: float = 0.0) -> bool:
    """Whether a child could copy every page of this process and still fit in memory.

    A forked child shares its parent's pages until it writes them, and Python writes
    most of what it reads (reference counts), so at worst it holds a copy of all of
    them. When the machine's available memory could not take that copy, the job runs
    in this process instead: slower, never killed by the kernel's OOM killer. Where
    psutil cannot tell this process's size, nothing is checked.

    With a ``budget`` (bytes: what the run may use, forks included) the worst case must
    fit in it too: this process, a full copy for the new child and one for each child
    still running (:func:`in_fork`'s not yet waited for), and what this process adds
    while the child runs (``grows``: a fraction of its present size). The machine
    having room is not enough: other work shares it, and a run is sized by its budget.
    """
    rss, available = _own_rss(), _available()
    if rss is None:
        return True
    if available is not None and available < rss:
        return False
    return budget is None or budget <= 0 or rss * (2 + len(_LIVE) + grows) <= budget


def in_fork(
    job: Callable[[], Any], budget: int | None = None, grows: float = 0.0
) -> Callable[[], Any]:
    """Run ``job`` in a forked process; returns a function that waits for its result.

    When the memory a fork could need is not available, or would not fit in ``budget``
    (:func:`fork_fits`), the job runs here and now instead, and ``wait()`` returns its
    result: the same result, as the job only reads what it inherits.

    Args:
        job: what to compute; it runs in the child on the tables it inherited.
        budget: bytes the run may use, forks included (None or 0: the machine's).
        grows: what this process adds while the job runs, as a fraction of its size.

    Returns:
        ``wait()``: the job's result (or its exception, raised here).

    Raises:
        LinkageError: (from ``wait``) the child died without an answer.
    """
    if not fork_fits(budget, grows):
        return in_process(job)
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    with warnings.catch_warnings():
        # Python warns about forking with threads alive (jemalloc's, a BLAS or
        # rapidfuzz pool): the child only runs numpy/pandas code and rapidfuzz on its
        # own thread, none of which needs a parent's thread
        warnings.filterwarnings("ignore", ".*multi-threaded.*")
        proc = ctx.Process(target=_child, args=(job, send, os.getpid()), daemon=True)
        proc.start()
    send.close()
    _LIVE.add(proc.pid)

    def wait() -> Any:
        abandon.detach()
        try:
            status, value = recv.recv()
        except EOFError:
            proc.join()
            raise LinkageError(
                f"a forked linkage worker died (exit code {proc.exitcode}); if the machine ran "
                "out of memory, set CPGRAPH_LINK_WORKERS=1"
            ) from None
        finally:
            recv.close()
            _LIVE.discard(proc.pid)
        proc.join()
        if status == "error":
            raise value
        return value

    # A caller that raises before it waits drops ``wait``: the child (and the budget's
    # count of it) would otherwise live on until this process ends, blocked on a pipe
    # nobody reads, holding its copy of the tables.
    abandon = weakref.finalize(wait, _abandon, proc, recv)
    return wait


def _abandon(proc: BaseProcess, recv: Connection) -> None:
    """Stop a forked child whose result nobody will wait for, and forget it."""
    _LIVE.discard(proc.pid or 0)
    with contextlib.suppress(OSError):
        recv.close()
    if proc.is_alive():
        proc.kill()
    proc.join(timeout=5)


def in_process(job: Callable[[], Any]) -> Callable[[], Any]:
    """``job`` run in this process, behind the same ``wait()`` as a fork's."""
    try:
        result: tuple[str, Any] = ("ok", job())
    except Exception as exc:  # noqa: BLE001 — raised by wait(), as a fork's would be
        result = ("error", exc)

    def wait() -> Any:
        status, value = result
        if status == "error":
            raise value
        return value

    return wait
