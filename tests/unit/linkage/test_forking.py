"""Work in a forked process: results, errors, a dead child, and no orphan after kill -9."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from cpgraph.errors import LinkageError
from cpgraph.linkage import forking
from cpgraph.linkage.forking import COMPARISON_THREADS, can_fork, comparison_threads, in_fork

pytestmark = pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")


def test_the_child_computes_on_inherited_data_and_returns_the_result():
    big = np.arange(1_000_000)  # inherited, not pickled
    assert in_fork(lambda: int(big.sum()))() == int(big.sum())


def test_an_error_in_the_child_is_raised_in_the_parent():
    def boom() -> None:
        raise ValueError("bad pair")

    with pytest.raises(ValueError, match="bad pair"):
        in_fork(boom)()


def test_a_child_that_dies_is_a_linkage_error_not_a_hang():
    wait = in_fork(lambda: os.kill(os.getpid(), signal.SIGKILL))
    with pytest.raises(LinkageError, match="died"):
        wait()


def test_comparison_threads_are_scoped_and_one_in_the_child():
    with comparison_threads(2):
        assert COMPARISON_THREADS.get() == 2
        assert in_fork(COMPARISON_THREADS.get)() == 1
    assert COMPARISON_THREADS.get() == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_child_dies_with_its_parent(tmp_path):
    pid_file = tmp_path / "child.pid"
    script = textwrap.dedent(
        f"""
        import os, time
        from cpgraph.linkage.forking import in_fork
        def job():
            open({str(pid_file)!r}, "w").write(str(os.getpid()))
            time.sleep(60)
        wait = in_fork(job)  # (held: a dropped wait stops its child)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 120  # (a loaded machine: imports are slow)
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.05)
        child = int(pid_file.read_text())
        parent.kill()  # kill -9: no cleanup code runs in the parent
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(child):
            assert time.monotonic() < deadline, "the forked child outlived its parent"
            time.sleep(0.05)
    finally:
        if parent.poll() is None:
            parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_without_memory_for_a_copy_the_job_runs_here(monkeypatch):

    assert in_fork(os.getpid)() != os.getpid()  # room for a copy: a child runs it
    monkeypatch.setattr(forking, "_available", lambda: 1024)  # 1 KiB available
    assert not forking.fork_fits()
    assert in_fork(os.getpid)() == os.getpid()

    def boom() -> None:
        raise ValueError("bad pair")

    wait = in_fork(boom)  # the error surfaces where a fork's would: in wait()
    with pytest.raises(ValueError, match="bad pair"):
        wait()


def test_a_fork_starts_only_when_a_full_copy_fits_the_budget(monkeypatch):

    gib = 1 << 30
    monkeypatch.setattr(forking, "_own_rss", lambda: gib)
    monkeypatch.setattr(forking, "_available", lambda: 20 * gib)
    assert forking.fork_fits() and forking.fork_fits(0)  # no budget: the machine decides
    assert forking.fork_fits(2 * gib)  # this process and a full copy
    assert not forking.fork_fits(2 * gib - 1)
    monkeypatch.setattr(forking, "_LIVE", {1})  # a child still running holds its own copy
    assert not forking.fork_fits(2 * gib)
    assert forking.fork_fits(3 * gib)
    assert not forking.fork_fits(3 * gib, grows=0.5)  # and this process grows meanwhile
    assert forking.fork_fits(3 * gib + gib // 2, grows=0.5)


def test_over_budget_the_job_runs_here_and_a_waited_child_leaves_room(monkeypatch):

    rss = forking._own_rss()
    assert rss is not None
    # (held still: a size that shrank between reading and deciding would let it fork)
    monkeypatch.setattr(forking, "_own_rss", lambda: rss)
    assert in_fork(os.getpid, budget=2 * rss - 1)() == os.getpid()  # inline: over budget
    roomy = 4 * rss + (1 << 30)  # room for two copies, with margin for growth
    first = in_fork(os.getpid, budget=roomy)
    assert len(forking._LIVE) == 1
    assert first() != os.getpid()
    assert not forking._LIVE  # waited for: no longer counted against the budget


def test_a_fork_nobody_waits_for_is_stopped_and_forgotten():
    """A caller that raises between the fork and its wait drops ``wait``: the child is
    killed and no longer counts against the budget, instead of living on blocked."""
    wait = in_fork(lambda: time.sleep(60))
    child = next(iter(forking._LIVE))
    assert _alive(child)
    del wait
    gc.collect()
    assert child not in forking._LIVE
    assert not _alive(child)
