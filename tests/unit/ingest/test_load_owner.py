"""A load's owner process: a running load whose process is gone shows interrupted."""

from __future__ import annotations

import os
import socket
import subprocess

from cpgraph.ingest.owner import INTERRUPTED, effective_status, owner_gone, this_process


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_this_process_is_not_gone() -> None:
    owner = this_process()
    host, pid, start = owner.rsplit(":", 2)
    assert host == socket.gethostname() and int(pid) == os.getpid() and start.isdigit()
    assert not owner_gone(owner)
    assert effective_status("running", owner) == "running"


def test_a_dead_process_is_gone_and_its_running_load_interrupted() -> None:
    owner = f"{socket.gethostname()}:{_dead_pid()}:12345"
    assert owner_gone(owner)
    assert effective_status("running", owner) == INTERRUPTED
    # an ended load keeps the status it recorded
    assert effective_status("completed", owner) == "completed"
    assert effective_status("failed", owner) == "failed"


def test_a_recycled_process_id_is_not_the_owner() -> None:
    pid, start = this_process().rsplit(":", 2)[1:]
    other_start = str(int(start) + 1)
    assert owner_gone(f"{socket.gethostname()}:{pid}:{other_start}")


def test_what_cannot_be_checked_is_never_called_gone() -> None:
    dead = _dead_pid()
    assert not owner_gone(f"another-host.example:{dead}:1")  # another host
    assert not owner_gone(None)  # a load recorded before owners were
    assert not owner_gone("")
    assert not owner_gone("not an owner")
    assert effective_status("running", None) == "running"


def test_an_exited_process_not_yet_reaped_is_gone() -> None:
    child = subprocess.Popen(["true"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, still a zombie
        assert owner_gone(f"{socket.gethostname()}:{child.pid}:1")
        assert owner_gone(f"{socket.gethostname()}:{child.pid}:?")
    finally:
        child.wait()
