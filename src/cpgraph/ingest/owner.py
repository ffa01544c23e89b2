"""Which process runs a load, so a load whose process died is shown as interrupted.

A load is marked ``running`` when it starts and ``completed``/``failed`` when it ends;
a process killed outright (``kill -9``, the OOM killer, a lost host) records neither.
The load therefore also records its owner — host, process id and the process's start
time (so a recycled process id is not mistaken for the loader) — and a reader on the
same host can tell that the owner is gone. On another host nothing can be told: the
load stays ``running``.
"""

from __future__ import annotations

import os
import socket

import psutil

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
