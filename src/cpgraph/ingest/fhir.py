"""FHIR bundle scanning: parse one bundle file, validate its resources, flatten them.

Validating a resource with ``fhir.resources`` (R4B models, every resource the
mapping reads) is the most expensive step of a health load — about 33 µs of
pure Python per resource, with two of fhir_core's checks worked out per class
once (:mod:`cpgraph.contract.fhir_models`; 85 µs without); about 11 µs with its
structure validated once per shape, the model's answer all the same
(:mod:`cpgraph.contract.fhir_shapes`). :func:`scan_bundle`
does it for one bundle file, once for all the load's passes (one per resource
type the mapping reads), and returns only small, picklable results (flattened
column values, quarantine reasons, warnings), so the engine can run it in worker
processes across bundle files while it normalises and writes the previous ones.
It runs unchanged in process for small extracts.

Only what a pass needs leaves the worker: the resource itself is not sent back
(a row that the engine later quarantines fetches its raw JSON again with
:func:`resource_text`), and the later passes' items come pickled, for the
engine to set aside until their turn.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from multiprocessing import forkserver
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from cpgraph.contract.fhir_models import speed_up_checks
from cpgraph.contract.fhir_shapes import ShapeValidator
from cpgraph.errors import IngestError
from cpgraph.ingest.owner import exit_with, fork_context, usable_cpus
from cpgraph.ingest.readers import FhirPath

#: Raw content kept for a quarantined bundle (characters); the engine truncates again.
MAX_RAW_CHARS = 1 << 20
#: Below this many bundle files a load validates in process (a pool costs ~0.5 s to start).
POOL_MIN_BUNDLES = 8
#: Bundles handed to the pool ahead of the one being consumed, per worker.
_AHEAD_PER_WORKER = 3

#: The resource types loaders may read; their models are built once per process.
_PRELOAD = ("Patient", "RelatedPerson", "Encounter", "Flag")


#: One pass of a FHIR load: the resource type it reads and its ``(column, FHIR path)`` pairs.
Pass = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(slots=True)
class BundleScan:
    """What one bundle file holds for every pass of a load, from one parse.

    Attributes:
        problem: why the whole file is unusable (``not_json`` / ``not_bundle``), else None.
        raw: the file's text (bounded) when it is unusable, for quarantine.
        not_collection: the bundle's ``type`` is not ``collection`` (a warning).
        extras: in entry order, what belongs to no pass (reported by the first pass):
            ``("bad", index, raw, "resource")`` — an entry without a resource type;
            ``("warn", index, code)`` — e.g. a resource type no pass reads.
        items: the first pass's items, in entry order:
            ``("row", index, values)`` — a valid resource of the pass's type, flattened;
            ``("bad", index, raw, type)`` — an invalid resource (quarantine).
        later: the items of each later pass (in the order given), pickled: the
            engine keeps them aside unread until their pass (see :func:`load_items`).
    """

    problem: str | None = None
    raw: str | None = None
    not_collection: bool = False
    extras: list[tuple[Any, ...]] = field(default_factory=list)
    items: list[tuple[Any, ...]] = field(default_factory=list)
    later: list[bytes] = field(default_factory=list)


#: This process's resource validation, its structure checked once per shape (the model's
#: answer: cpgraph.contract.fhir_shapes).
_SHAPES = ShapeValidator()


@cache
def _model(resource: str) -> Any:
    return get_fhir_model_class(resource)


@cache
def _paths(paths: tuple[tuple[str, str], ...]) -> tuple[tuple[str, FhirPath], ...]:
    return tuple((col, FhirPath.compile(p)) for col, p in paths)


# Importing this module builds the models loaders read: once in the fork server, so
# every worker process starts with them; and works two of fhir_core's checks out per
# class once (about 30 % of the validation's CPU; the same checks, contract.fhir_models).
speed_up_checks()
for _name in _PRELOAD:
    _model(_name)


def bundle_problem(data: Any) -> str | None:
    """Why a parsed JSON document is not a usable FHIR Bundle (``None`` if it is)."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        return "not_bundle"
    if not isinstance(data.get("entry", []), list):
        return "not_bundle"
    try:
        Bundle.model_validate({k: v for k, v in data.items() if k != "entry"})
    except Exception:  # noqa: BLE001 — any model failure means not a valid Bundle
        return "not_bundle"
    return None


def scan_bundle(path: str, passes: tuple[Pass, ...]) -> BundleScan:
    """Parse one bundle file once; validate and flatten its resources for every pass.

    Each resource is validated once with the ``fhir.resources`` model of its type
    (even when several passes read that type) and flattened with each reading
    pass's paths.

    Args:
        path: the bundle file.
        passes: ``(resource type, ((column, FHIR path), ...))`` per pass, in load order.

    Returns:
        The scan (see :class:`BundleScan`); never raises on bad content.
    """
    data_bytes = Path(path).read_bytes()
    scan = BundleScan()
    data: Any = None
    try:
        data = json.loads(data_bytes)
    except (ValueError, UnicodeDecodeError):
        scan.problem = "not_json"
    except RecursionError:  # nested deeper than any FHIR bundle: the file is refused
        scan.problem = "too_deeply_nested"
    if scan.problem is None:
        scan.problem = bundle_problem(data)
    if scan.problem is not None:
        scan.raw = data_bytes[: MAX_RAW_CHARS * 4].decode("utf-8", errors="replace")
        return scan
    scan.not_collection = data.get("type") != "collection"
    # One item list per pass; resource type -> (model, [(item list, compiled paths), ...]).
    outs: list[list[tuple[Any, ...]]] = [scan.items] + [[] for _ in passes[1:]]
    readers: dict[str, tuple[Any, list[tuple[list[tuple[Any, ...]], Any]]]] = {}
    for (resource, paths), out in zip(passes, outs, strict=True):
        readers.setdefault(resource, (_model(resource), []))[1].append((out, _paths(paths)))
    extras = scan.extras
    valid = _SHAPES.validate
    for i, item in enumerate(data.get("entry") or [], start=1):
        res = item.get("resource") if isinstance(item, dict) else None
        rtype = res.get("resourceType") if isinstance(res, dict) else None
        if not isinstance(rtype, str):
            extras.append(("bad", i, json.dumps(item, ensure_ascii=False), "resource"))
            continue
        reader = readers.get(rtype)
        if reader is None:
            extras.append(("warn", i, f"ignored_resource_type:{rtype}"))
            continue
        model, targets = reader
        if not valid(model, res):
            bad = ("bad", i, json.dumps(res, ensure_ascii=False), rtype)
            for out, _ in targets:
                out.append(bad)
            continue
        for out, compiled in targets:
            out.append(("row", i, {col: p.get(res) for col, p in compiled}))
    # Pickled here, in the worker: the engine only stores these until their pass.
    scan.later = [pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL) for out in outs[1:]]
    return scan


def load_items(data: bytes) -> list[tuple[Any, ...]]:
    """The items of a later pass, from :attr:`BundleScan.later`."""
    items: list[tuple[Any, ...]] = pickle.loads(data)  # noqa: S301 — made by scan_bundle
    return items


def resource_text(path: Path, index: int) -> str:
    """The raw JSON of entry ``index`` (1-based) of a bundle file, as quarantine keeps it."""
    data = json.loads(path.read_bytes())
    return json.dumps(data["entry"][index - 1]["resource"], ensure_ascii=False)


def workers_for(bundles: int) -> int:
    """How many worker processes suit an extract of ``bundles`` files (0: in process)."""
    cpus = usable_cpus()
    if bundles < POOL_MIN_BUNDLES or cpus < 2:
        return 0
    return min(cpus, 4)


def warm_up() -> None:
    """Start the fork server now (it returns at once), so a pool made later starts at once.

    The fork server imports this module and builds the models before it serves
    (about 0.6 s, in its own process); a load of several extracts calls this at
    its start, so that work overlaps with the extracts loaded before the first
    FHIR one instead of delaying it. Without a later pool it just exits with us.
    """
    fork_context()
    forkserver.ensure_running()


def make_pool(workers: int) -> Executor:
    """A process pool for :func:`scan_bundle`.

    Workers are forked from a fork server that has imported this module and so
    built the models (fast to start, and safe while the loader runs threads).
    Each worker exits when this process does, even on ``kill -9``; then the fork
    server and the resource tracker see their pipes close and exit too.
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=fork_context(),
        initializer=exit_with,
        initargs=(os.getpid(),),
    )


def scan_bundle_pickled(path: str, passes: tuple[Pass, ...]) -> bytes:
    """:func:`scan_bundle`, pickled in the worker (a :class:`Prescan` keeps it as bytes)."""
    return pickle.dumps(scan_bundle(path, passes), protocol=pickle.HIGHEST_PROTOCOL)


class Prescan:
    """An extract's bundle files scanned ahead of its turn, in worker processes.

    A multi-extract load reads its extracts one after the other, and while it reads
    the CSV extracts before a FHIR one, the FHIR worker processes would idle. A
    prescan starts them at once: a thread in this process hands the pool a few
    bundle files at a time and appends each scan, pickled by its worker, to an
    unlinked temporary file (readable by this user only) in file order, so memory
    stays bounded however far ahead it gets. When the extract's turn comes,
    :meth:`scans` yields the same ``(path, scan)`` sequence :func:`scan_all` would,
    waiting for any scan not yet done.

    Args:
        workers: worker processes (at least 1).
        jobs: the bundle files, in load order.
        passes: as for :func:`scan_bundle`.
    """

    def __init__(self, workers: int, jobs: list[str], passes: tuple[Pass, ...]) -> None:
        self.jobs = jobs
        self.passes = passes
        self._pool = make_pool(workers)
        self._ahead = _AHEAD_PER_WORKER * workers
        self._spill = tempfile.TemporaryFile()  # noqa: SIM115 — closed by close()
        self._where: list[tuple[int, int]] = []  # (offset, size) per job done, in order
        self._failure: BaseException | None = None
        self._ended = False  # the scanning thread returned (all done, stopped or failed)
        self._stop = threading.Event()
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="cpgraph-fhir-prescan", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending: list[Future[bytes]] = []
        offset = 0
        try:
            for path in self.jobs:
                if self._stop.is_set():
                    return
                pending.append(self._pool.submit(scan_bundle_pickled, path, self.passes))
                if len(pending) >= self._ahead:
                    offset = self._keep(pending.pop(0).result(), offset)
            while pending and not self._stop.is_set():
                offset = self._keep(pending.pop(0).result(), offset)
        except BaseException as exc:  # noqa: BLE001 — re-raised by scans(), in the loader
            with self._ready:
                self._failure = exc
                self._ready.notify_all()
        finally:
            for future in pending:
                future.cancel()
            with self._ready:
                self._ended = True
                self._ready.notify_all()

    def _keep(self, data: bytes, offset: int) -> int:
        os.pwrite(self._spill.fileno(), data, offset)
        with self._ready:
            self._where.append((offset, len(data)))
            self._ready.notify_all()
        return offset + len(data)

    def scans(self) -> Iterator[tuple[str, BundleScan]]:
        """Yield ``(path, scan)`` for every job, in order (as :func:`scan_all`).

        Raises:
            BaseException: whatever stopped the scanning (a worker that died...).
            IngestError: the prescan was closed before every scan was read.
        """
        for i, path in enumerate(self.jobs):
            with self._ready:
                while len(self._where) <= i and not self._ended:
                    self._ready.wait()
                if self._spill.closed or len(self._where) <= i:
                    raise self._failure or IngestError("the FHIR prescan was closed")
                offset, size = self._where[i]
            data = os.pread(self._spill.fileno(), size, offset)
            scan: BundleScan = pickle.loads(data)  # noqa: S301 — made by scan_bundle_pickled
            yield path, scan

    def close(self) -> None:
        """Stop scanning, end the worker processes and drop the file (idempotent)."""
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._thread.join()
        self._spill.close()


def scan_all(
    pool: Executor | None, workers: int, jobs: list[str], passes: tuple[Pass, ...]
) -> Iterator[tuple[str, BundleScan]]:
    """Yield ``(path, scan)`` for every bundle path in ``jobs``, in order.

    ``passes`` is :func:`scan_bundle`'s. With a pool, a bounded number of files
    are scanned ahead of the consumer (at most a few results wait at any time).
    """
    if pool is None:
        for path in jobs:
            yield path, scan_bundle(path, passes)
        return
    ahead = _AHEAD_PER_WORKER * max(workers, 1)
    pending: list[tuple[str, Future[BundleScan]]] = []
    try:
        for path in jobs:
            pending.append((path, pool.submit(scan_bundle, path, passes)))
            if len(pending) >= ahead:
                done_path, future = pending.pop(0)
                yield done_path, future.result()
        while pending:
            done_path, future = pending.pop(0)
            yield done_path, future.result()
    finally:
        for _, future in pending:
            future.cancel()
