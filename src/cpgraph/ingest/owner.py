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

#: What `effective_status` reports for a running load whose process is gone.
INTERRUPTED = "interrupted"


def _start_ticks(pid: int) -> str | None:
    """The process's start time (clock ticks after boot), or None if there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # after the command name: state is field 3 of stat(5), starttime field 22
    if len(fields) < 20 or fields[0] == b"Z":
        return None
    return fields[19].decode()


def this_process() -> str:
    """The owner text of the calling process: ``host:pid:start``."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '?'}"


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
    started = _start_ticks(int(parts[1]))
    return started is None or (parts[2] != "?" and started != parts[2])


def effective_status(status: str | None, owner: str | None) -> str | None:
    """`status`, or `INTERRUPTED` for a running load whose process is gone."""
    if status == "running" and owner_gone(owner):
        return INTERRUPTED
    return status
