"""Which process runs a load, so a load whose process died is shown as interrupted.

A load is marked ``running`` when it starts and ``completed``/``failed`` when it ends;
a process killed outright (``kill -9``, the OOM killer, a lost host) records neither.
The load therefore also records its owner — host, process id and the process's start
time (so a recycled process id is not mistaken for the loader) — and a reader on the
same host can tell that the owner is gone. On another host nothing can be told: the
load stays ``running``.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import socket
import threading

import psutil

#: What the fork server of a load's worker processes imports before it forks any: the
#: FHIR models (built once, not per worker) and, through them, the ingest engine.
FORK_PRELOAD = ["cpgraph.ingest.fhir"]

#: What `effective_status` reports for a running load whose process is gone.
INTERRUPTED = "interrupted"


def _started(pid: int) -> str | None:
    """The live process's start time (centiseconds since the epoch), or None if none.

    A zombie has exited: it counts as gone. psutil reads the start time portably (on
    Linux from ``/proc/<pid>/stat``, as the pid-reuse check needs).
    """
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return str(round(proc.create_time() * 100))
    except (psutil.Error, OSError):
        return None


def this_process() -> str:
    """The owner text of the calling process: ``host:pid:start``."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_started(pid) or '?'}"


def owner_gone(owner: str | None) -> bool:
    """Whether the process `owner` names is certainly gone.

    Only a process of this host can be checked; an owner of another host, an older
    load without an owner, or a malformed text are never called gone.
    """
    if not owner:
        return False
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    started = _started(int(parts[1]))
    return started is None or (parts[2] != "?" and started != parts[2])


def effective_status(status: str | None, owner: str | None) -> str | None:
    """`status`, or `INTERRUPTED` for a running load whose process is gone."""
    if status == "running" and owner_gone(owner):
        return INTERRUPTED
    return status


def exit_with(owner: int) -> None:  # pragma: no cover - runs in a worker
    """Make this worker process exit as soon as process ``owner`` (the loader) ends.

    Run first in every process a load starts from the fork server (FHIR workers,
    the CSV reader of :mod:`cpgraph.ingest.ahead`). A worker's parent is the fork
    server, not the loader, so a parent-death signal
    would not fire on a ``kill -9`` of the loader; and each worker holds the fork
    server's "alive" pipe and the resource tracker's pipe open, so while a worker
    waits on its job queue, it, the fork server and the tracker would all live on.
    A pidfd of the loader becomes readable when the loader dies, whichever thread
    started the pool.
    """
    try:
        fd = os.pidfd_open(owner)
    except ProcessLookupError:
        os._exit(1)  # the loader is already gone
    except (OSError, AttributeError):
        fd = None  # no pidfd (kernel before 5.3): poll instead

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:
            while True:
                try:
                    os.kill(owner, 0)
                except ProcessLookupError:
                    break
                except PermissionError:  # a new process of another user took the pid
                    break
                threading.Event().wait(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="cpgraph-owner-watch", daemon=True).start()


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def fork_context() -> multiprocessing.context.ForkServerContext:
    """The fork-server context every worker process of a load starts from.

    Forked from a server that has imported :data:`FORK_PRELOAD`, a worker starts at
    once and safely while the loader runs threads (FHIR workers, the readers of
    :mod:`cpgraph.ingest.ahead`).
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(FORK_PRELOAD)
    return ctx
