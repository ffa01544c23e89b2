"""FHIR bundle scanning: parse one bundle file, validate its resources, flatten them.

Validating a resource with ``fhir.resources`` (R4B models, every resource the
mapping reads) is the most expensive step of a health load — about 70 µs of
pure Python per resource. :func:`scan_bundle` does it for one bundle file and
returns only small, picklable results (flattened column values, quarantine
reasons, warnings), so the engine can run it in worker processes across bundle
files while it normalises and writes the previous ones. It runs unchanged in
process for small extracts.

Only what a pass needs leaves the worker: the resource itself is not sent back
(a row that the engine later quarantines fetches its raw JSON again with
:func:`resource_text`).
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from cpgraph.ingest.readers import FhirPath

#: Raw content kept for a quarantined bundle (characters); the engine truncates again.
MAX_RAW_CHARS = 1 << 20
#: Below this many bundle files a load validates in process (a pool costs ~0.5 s to start).
POOL_MIN_BUNDLES = 8
#: Bundles handed to the pool ahead of the one being consumed, per worker.
_AHEAD_PER_WORKER = 3

#: The resource types loaders may read; their models are built once per process.
_PRELOAD = ("Patient", "RelatedPerson", "Encounter", "Flag")


@dataclass(slots=True)
class BundleScan:
    """What one pass over one bundle file found.

    Attributes:
        problem: why the whole file is unusable (``not_json`` / ``not_bundle``), else None.
        raw: the file's text (bounded) when it is unusable, for quarantine.
        not_collection: the bundle's ``type`` is not ``collection`` (a warning).
        items: in entry order, one of
            ``("row", index, values)`` — a valid resource of the pass's type, flattened;
            ``("bad", index, raw, column)`` — an invalid resource (quarantine);
            ``("warn", index, code)`` — a warning (e.g. an ignored resource type).
    """

    problem: str | None = None
    raw: str | None = None
    not_collection: bool = False
    items: list[tuple[Any, ...]] = field(default_factory=list)


@cache
def _model(resource: str) -> Any:
    return get_fhir_model_class(resource)


@cache
def _paths(paths: tuple[tuple[str, str], ...]) -> tuple[tuple[str, FhirPath], ...]:
    return tuple((col, FhirPath.compile(p)) for col, p in paths)


# Importing this module builds the models loaders read: once in the fork server, so
# every worker process starts with them.
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


def scan_bundle(
    path: str,
    resource: str,
    mapped: frozenset[str],
    paths: tuple[tuple[str, str], ...],
    first: bool,
) -> BundleScan:
    """Parse one bundle file and validate + flatten the resources of one type.

    Args:
        path: the bundle file.
        resource: the resource type this pass reads (e.g. ``Patient``).
        mapped: every resource type the mapping reads (others are ignored).
        paths: the pass's ``(column, FHIR path)`` pairs.
        first: the first pass over the extract, which also reports what is not
            of any pass (entries without a resource type, ignored types, the
            bundle itself).

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
    if scan.problem is None:
        scan.problem = bundle_problem(data)
    if scan.problem is not None:
        if first:
            scan.raw = data_bytes[: MAX_RAW_CHARS * 4].decode("utf-8", errors="replace")
        return scan
    scan.not_collection = data.get("type") != "collection"
    model = _model(resource)
    compiled = _paths(paths)
    items = scan.items
    for i, item in enumerate(data.get("entry") or [], start=1):
        res = item.get("resource") if isinstance(item, dict) else None
        rtype = res.get("resourceType") if isinstance(res, dict) else None
        if not isinstance(rtype, str):
            if first:
                items.append(("bad", i, json.dumps(item, ensure_ascii=False), "resource"))
            continue
        if rtype not in mapped:
            if first:
                items.append(("warn", i, f"ignored_resource_type:{rtype}"))
            continue
        if rtype != resource:
            continue
        try:
            model.model_validate(res)
        except Exception:  # noqa: BLE001 — any model failure means an invalid resource
            items.append(("bad", i, json.dumps(res, ensure_ascii=False), rtype))
            continue
        items.append(("row", i, {col: p.get(res) for col, p in compiled}))
    return scan


def resource_text(path: Path, index: int) -> str:
    """The raw JSON of entry ``index`` (1-based) of a bundle file, as quarantine keeps it."""
    data = json.loads(path.read_bytes())
    return json.dumps(data["entry"][index - 1]["resource"], ensure_ascii=False)


def workers_for(bundles: int) -> int:
    """How many worker processes suit an extract of ``bundles`` files (0: in process)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    if bundles < POOL_MIN_BUNDLES or cpus < 2:
        return 0
    return min(cpus, 4)


def make_pool(workers: int) -> Executor:
    """A process pool for :func:`scan_bundle`.

    Workers are forked from a fork server that has imported this module and so
    built the models (fast to start, and safe while the loader runs threads).
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


def scan_all(
    pool: Executor | None,
    workers: int,
    jobs: list[str],
    resource: str,
    mapped: frozenset[str],
    paths: tuple[tuple[str, str], ...],
    first: bool,
) -> Iterator[tuple[str, BundleScan]]:
    """Yield ``(path, scan)`` for every bundle path in ``jobs``, in order.

    Arguments after ``jobs`` are :func:`scan_bundle`'s.

    With a pool, a bounded number of files are scanned ahead of the consumer
    (memory stays bounded: results are small and at most a few are waiting).
    """
    if pool is None:
        for path in jobs:
            yield path, scan_bundle(path, resource, mapped, paths, first)
        return
    ahead = _AHEAD_PER_WORKER * max(workers, 1)
    pending: list[tuple[str, Future[BundleScan]]] = []
    try:
        for path in jobs:
            pending.append((path, pool.submit(scan_bundle, path, resource, mapped, paths, first)))
            if len(pending) >= ahead:
                done_path, future = pending.pop(0)
                yield done_path, future.result()
        while pending:
            done_path, future = pending.pop(0)
            yield done_path, future.result()
    finally:
        for _, future in pending:
            future.cancel()
