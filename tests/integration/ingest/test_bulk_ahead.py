"""CSV extracts read ahead in a process of their own (the bulk load's reader)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from cpgraph.errors import IngestError
from cpgraph.ingest import ahead
from cpgraph.ingest.ahead import AheadReader, readable_ahead
from cpgraph.ingest.engine import Producer, new_report, prepare_extract
from cpgraph.ingest.supersede import Supersession
from tests.integration.ingest.conftest import extract_folders

pytestmark = pytest.mark.integration


def _plans(root: Path) -> list:
    plans = [prepare_extract(f) for f in extract_folders(root)]
    plans.sort(key=lambda p: (p.extracted_at, p.system))
    return plans


def _fresh(plan) -> Supersession:
    return Supersession(load_id=plan.load_id, system=plan.system, extracted_at=plan.extracted_at)


def test_extracts_first_of_their_system_are_made_ahead_csv_in_processes(generated: Path) -> None:
    plans = _plans(generated)
    chosen = readable_ahead(plans)
    assert chosen == list(range(len(plans)))  # one extract per system
    again = readable_ahead([*plans, plans[0]])  # a second extract of one system: not ahead
    assert again == chosen
    reader = AheadReader(plans, 50)
    try:
        assert reader.chosen and all(plans[i].mapping.format == "csv" for i in reader.chosen)
        assert reader.threaded and all(plans[i].mapping.format == "fhir" for i in reader.threaded)
        assert sorted(reader.chosen + reader.threaded) == chosen
    finally:
        reader.close()


def test_the_readers_make_the_batches_and_counts_the_loader_would(generated: Path) -> None:
    plans = _plans(generated)
    reader = AheadReader(plans, 50)
    try:
        started = reader._readers  # noqa: SLF001 — `width` processes and one thread at a time
        assert len(started) == reader.width + 1 < len(plans)
        for i in sorted(reader.chosen + reader.threaded):
            plan = plans[i]
            mine = new_report(plan)
            producer = Producer(plan, mine, 50, fhir_workers=0)
            producer.supersession = _fresh(plan)
            expected = list(producer.batches())
            theirs = new_report(plan)
            source = reader.source(i, theirs)
            assert source is not None
            source.supersession = _fresh(plan)
            got = list(source.batches())
            assert got == expected, plan.system
            assert source.rows_done == producer.rows_done
            assert theirs.files == mine.files and theirs.notes == mine.notes
            assert (theirs.mentions, theirs.events, theirs.relationships) == (
                mine.mentions,
                mine.events,
                mine.relationships,
            )
            assert source.supersession.quarantined == producer.supersession.quarantined
        assert not started  # every reader ended with its plan
        assert reader.source(len(plans), new_report(plans[0])) is None  # not read ahead
    finally:
        reader.close()


def test_a_plan_that_supersedes_an_earlier_load_is_refused(generated: Path) -> None:
    plans = _plans(generated)
    reader = AheadReader(plans, 50)
    try:
        i = reader.chosen[0]
        source = reader.source(i, new_report(plans[i]))
        rerun = _fresh(plans[i])
        rerun.rerun = True
        with pytest.raises(IngestError, match="supersede an earlier load"):
            source.supersession = rerun
    finally:
        reader.close()


def test_a_reader_that_dies_fails_the_load_with_a_clear_error(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ahead, "_POLL", 0.05)
    monkeypatch.setattr(ahead, "MAX_AHEAD", 1)  # the reader waits after its first batch
    plans = _plans(generated)
    reader = AheadReader(plans, 5)
    process = reader._readers[reader.chosen[0]].process  # noqa: SLF001 — the test kills it
    pid = process.pid
    try:
        time.sleep(0.5)
        assert process.is_alive()
        process.kill()
        process.join(timeout=10)
        i = reader.chosen[0]
        source = reader.source(i, new_report(plans[i]))
        with pytest.raises(IngestError, match="reading an extract ahead ended"):
            list(source.batches())
    finally:
        reader.close()
    assert not reader._readers  # noqa: SLF001 — closed, and reaped by join
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


_LOADER = """
import sys, time
from cpgraph.ingest import ahead
from cpgraph.ingest.engine import prepare_extract
ahead.MAX_AHEAD = 1  # the reader fills the queue and waits: it is alive when we are killed
plans = [prepare_extract(sys.argv[1])]
reader = ahead.AheadReader(plans, 5)
print(reader._readers[0].process.pid, flush=True)
time.sleep(120)
"""


def test_the_reader_exits_when_the_loader_is_killed(generated: Path) -> None:
    folder = next(p for p in _plans(generated) if p.mapping.format == "csv").folder
    proc = subprocess.Popen(
        [sys.executable, "-c", _LOADER, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        pid = int(proc.stdout.readline())
        time.sleep(1.0)
        assert psutil.Process(pid).is_running()  # still waiting to hand over a batch
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie":
                break
            time.sleep(0.1)
        else:
            psutil.Process(pid).kill()  # leave no process behind, then fail
            pytest.fail("the reader outlived the loader")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
