"""Extracts read ahead of their turn, CSV ones in processes of their own (the bulk load).

A bulk initial load spends most of its loader CPU turning rows into write batches
(:class:`~cpgraph.ingest.engine.Producer`: parsing, checking, normalising), and
Python runs that on one core however many threads it has. The bulk path therefore
hands its CSV extracts to reader processes, started from the FHIR fork server: each
makes one extract's batches and sends them over a queue of its own, as many at once
as there are CPUs, in load order. The FHIR extracts are made one at a time in a thread
of the loader, the first from the start (their validation already runs in the FHIR
worker processes; the rest shares the loader's core, which mostly waits). The loader
applies every extract's batches in load order.

The batches are the ones the loader would make: the same :class:`Producer` runs in
the reader, on the same checked plan. What it fills in — the load report's counts
and the supersession's quarantined rows — comes back with the plan's last batch.

A plan is read ahead only when nothing the loader writes before its turn can
change what it produces: its supersession must start empty (no earlier load of the
system, no quarantine of one). On the empty store of a bulk load that is every
extract of a system but a later one of the same system, which is read in the
loader as before. The loader checks it when the plan's turn comes.

If a reader fails, its error is raised in the loader at that plan's turn; if a reader
process dies (killed, out of memory), the loader raises an :class:`IngestError` saying
so. Reader processes exit with the loader, even on ``kill -9``
(:func:`~cpgraph.ingest.owner.exit_with`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from cpgraph.errors import IngestError
from cpgraph.ingest.engine import BatchSource, ExtractPlan, Producer, new_report
from cpgraph.ingest.owner import exit_with, fork_context, usable_cpus
from cpgraph.ingest.report import LoadReport
from cpgraph.ingest.supersede import Supersession
from cpgraph.ingest.writer import Batch

#: Batches a reader may be ahead of the loader: bounds the memory its queue holds
#: (a 5,000-row batch pickles to ~0.2–1 MB), and is enough to keep it reading through
#: a FHIR extract the loader reads meanwhile.
MAX_AHEAD = 1024
#: Seconds between checks that the reader is still alive while waiting for a batch.
_POLL = 0.5

_BATCH, _END, _FAILED = "batch", "end", "failed"


def readable_ahead(plans: list[ExtractPlan]) -> list[int]:
    """Which plans (their positions, in load order) can be made ahead of their turn.

    Extracts that are the first of their system in the load: their supersession
    starts empty on an empty store, so nothing written before their turn changes them.
    """
    seen: set[str] = set()
    chosen = []
    for i, plan in enumerate(plans):
        if plan.system not in seen:
            chosen.append(i)
        seen.add(plan.system)
    return chosen


def _portable(exc: BaseException) -> BaseException:
    """The exception itself if it survives pickling, else an IngestError naming its type."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 — any failure to round-trip means: send a plain one
        return IngestError(f"reading an extract ahead failed: {type(exc).__name__}: {exc}")
    return exc


def _produce(
    plan: ExtractPlan,
    index: int,
    batch_size: int,
    put: Callable[[tuple[Any, ...]], None],
    prescan: Any = None,
) -> None:
    """Make one plan's batches and ``put`` each, then its end (or its failure)."""
    report = new_report(plan)
    producer = Producer(plan, report, batch_size)  # FHIR: workers as the loader's own
    producer.prescan = prescan
    producer.supersession = Supersession(
        load_id=plan.load_id, system=plan.system, extracted_at=plan.extracted_at
    )
    try:
        for name, rows in producer.batches():
            put((_BATCH, index, (name, rows), producer.rows_done))
    except _Stopped:
        return
    except BaseException as exc:  # noqa: BLE001 — handed to the loader to raise
        put((_FAILED, index, _portable(exc), producer.rows_done))
        return
    put((_END, index, (report, producer.supersession), producer.rows_done))


def _read(
    plan: ExtractPlan, index: int, batch_size: int, out: Any, owner: int
) -> None:  # pragma: no cover - runs in a reader process (covered through the loader)
    """A reader process: one CSV plan's batches, in order, onto ``out``."""
    exit_with(owner)
    gc.disable()  # as in the loader's bulk path: millions of rows, no cycles to collect
    _produce(plan, index, batch_size, out.put)


class _Stopped(Exception):
    """The loader closed the reader: a reader thread stops making batches."""


class _Process:
    """A CSV plan's reader process and the queue it sends on."""

    def __init__(self, ctx: Any, plan: ExtractPlan, index: int, batch_size: int) -> None:
        self.queue = ctx.Queue(maxsize=MAX_AHEAD)
        self.process = ctx.Process(
            target=_read,
            args=(plan, index, batch_size, self.queue, os.getpid()),
            name=f"cpgraph-ingest-ahead-{index}",
            daemon=True,
        )
        self.process.start()

    def alive(self) -> bool:
        return self.process.is_alive()

    def ended(self) -> str:
        return f"the process reading an extract ahead ended (exit code {self.process.exitcode})"

    def close(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=10)
        self.queue.cancel_join_thread()
        self.queue.close()
        with contextlib.suppress(ValueError):  # already closed
            self.process.close()


class _Thread:
    """A FHIR plan's reader: a thread of the loader (its validation runs in the FHIR
    workers; what is left is light enough to share the loader's core, which mostly
    waits while the reader processes work)."""

    def __init__(self, plan: ExtractPlan, index: int, batch_size: int, prescan: Any) -> None:
        self.queue: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=MAX_AHEAD)
        self._stop = threading.Event()
        self.thread = threading.Thread(
            target=_produce,
            args=(plan, index, batch_size, self._put, prescan),
            name=f"cpgraph-ingest-ahead-{index}",
            daemon=True,
        )
        self.thread.start()

    def _put(self, message: tuple[Any, ...]) -> None:
        while not self._stop.is_set():
            try:
                self.queue.put(message, timeout=_POLL)
                return
            except queue.Full:
                continue
        raise _Stopped

    def alive(self) -> bool:
        return self.thread.is_alive()

    def ended(self) -> str:  # pragma: no cover - the thread sends its failure first
        return "the thread reading an extract ahead ended"

    def close(self) -> None:
        self._stop.set()
        self.thread.join()


class AheadReader:
    """The readers and the plans they make ahead; see the module docstring.

    Each CSV plan read ahead gets a process and a queue of its own, in load order; at
    most ``width`` (the CPUs) CSV plans not yet taken to their end have one at a time,
    so the readers keep the cores busy while the loader applies batches, and the load
    does not wait in queues. The FHIR plans are made one at a time in a thread of the
    loader, the first from the start (its bundle files' prescan, if any, with it).

    Args:
        plans: every plan of the load, in load order.
        batch_size: rows per batch, as the loader's producers use.
        prescans: plan position → its FHIR bundle files' prescan, started ahead.
    """

    def __init__(
        self, plans: list[ExtractPlan], batch_size: int, prescans: dict[int, Any] | None = None
    ) -> None:
        cpus = usable_cpus()
        self.plans = plans
        self.batch_size = batch_size
        self.prescans = prescans or {}
        chosen = readable_ahead(plans) if cpus >= 2 else []
        self.chosen = [i for i in chosen if plans[i].mapping.format == "csv"]
        self.threaded = [i for i in chosen if plans[i].mapping.format != "csv"]
        self.width = cpus
        self._readers: dict[int, _Process | _Thread] = {}
        self._started = 0  # how many of `chosen` got a reader
        self._done = 0  # how many of `chosen` were taken to their end
        self._threads = 0  # how many of `threaded` got a thread
        self._ctx: Any = None
        if self.chosen:
            self._ctx = fork_context()
            self._fill()
        self._next_thread()

    def _fill(self) -> None:
        """Start reader processes, in load order, until ``width`` CSV plans not yet taken
        have one."""
        while self._started < len(self.chosen) and self._started - self._done < self.width:
            i = self.chosen[self._started]
            self._readers[i] = _Process(self._ctx, self.plans[i], i, self.batch_size)
            self._started += 1

    def _next_thread(self) -> None:
        """Start the next FHIR plan's thread (one at a time: they share the loader's core)."""
        if self._threads < len(self.threaded):
            i = self.threaded[self._threads]
            self._readers[i] = _Thread(self.plans[i], i, self.batch_size, self.prescans.get(i))
            self._threads += 1

    def source(self, index: int, report: LoadReport) -> BatchSource | None:
        """Plan ``index``'s batches from its reader, or None when the loader makes them.

        The loader asks at each plan's turn, in load order.
        """
        if index not in self._readers:
            if index in self.chosen or index in self.threaded:  # pragma: no cover
                raise IngestError("plans read ahead were asked for out of load order")
            return None
        return _Received(self, index, report)

    def take(self, index: int) -> tuple[str, Any, int]:
        """The next message of plan ``index``'s reader: ``(kind, payload, rows_done)``."""
        reader = self._readers[index]
        while True:
            try:
                kind, at, payload, rows_done = reader.queue.get(timeout=_POLL)
                break
            except queue.Empty:
                if not reader.alive():
                    raise IngestError(
                        f"{reader.ended()} before it sent all its batches; nothing was "
                        "written, run the load again"
                    ) from None
        if at != index:  # pragma: no cover - each reader sends its own plan
            raise IngestError("an extract reader sent a batch of another extract")
        if kind != _BATCH:  # the plan is done: its reader ends, the next plan's starts
            self._readers.pop(index).close()
            if isinstance(reader, _Thread):
                self._next_thread()
            else:
                self._done += 1
                self._fill()
        return kind, payload, rows_done

    def close(self) -> None:
        """Stop every reader still running, and release the queues."""
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()


class _Received:
    """One plan's batches as the reader sends them (a :class:`BatchSource`)."""

    def __init__(self, reader: AheadReader, index: int, report: LoadReport) -> None:
        self.reader = reader
        self.index = index
        self.report = report
        self.rows_done = 0
        self.prescan: Any = None
        self._supersession: Supersession | None = None

    @property
    def supersession(self) -> Supersession | None:
        """What the load supersedes: the loader's look-up, then what the reader gathered."""
        return self._supersession

    @supersession.setter
    def supersession(self, session: Supersession | None) -> None:
        # the reader started from an empty supersession: only valid if the store agrees
        if session is not None and (session.rerun or session.candidates):
            raise IngestError(
                f"{self.report.system}: an extract read ahead turned out to supersede an "
                "earlier load; load it without --bulk"
            )
        self._supersession = session

    def batches(self) -> Iterator[Batch]:
        """Yield the plan's batches; at the end, take over the reader's report and session."""
        while True:
            kind, payload, self.rows_done = self.reader.take(self.index)
            if kind == _BATCH:
                yield payload
            elif kind == _FAILED:
                raise payload
            else:
                report, session = payload
                self._adopt(report)
                self._supersession = session
                return

    def _adopt(self, made: LoadReport) -> None:
        """Copy what the producer filled in (counts, files, notes) onto the loader's report."""
        self.report.files = made.files
        self.report.notes = made.notes
        self.report.mentions = made.mentions
        self.report.events = made.events
        self.report.relationships = made.relationships
