"""Linkage on a Dask cluster: the local engine's spec, model and results, scored on workers.

:class:`DaskLinkageEngine` is a :class:`~cpgraph.linkage.engine.LinkageEngine` whose score
stage runs on a Dask cluster (a ``LocalCluster`` or a scheduler address); every other
stage is the local engine's own code.  The stage goes:

1. the driver writes the standardised records and their name variants to Parquet, in
   ``P`` files by record range, in a run folder every worker reads (shared storage on a
   real cluster);
2. one task per record file builds each blocking pass's key rows for its records (name
   variants, forename roots: :func:`~cpgraph.linkage.blocking.rule_pairs`'s key table)
   and splits them by a hash of the pass's key into ``P`` partitions: every record of
   a block (one key value) lands in one partition, whatever file it came from;
3. one task per (pass, partition) gathers its rows from every record task, joins its
   blocks (the block-size cap, the one-side-missing and incremental conditions of
   ``rule_pairs``) and splits the pair codes ``i * n + j`` (``i < j``) into ``P``
   buckets by hash (a pair two blocks of one pass share, through two name variants, is
   made in each, as the local engine makes it twice before deduplicating);
4. one task per bucket deduplicates its pairs across passes (a pair lands in one bucket
   whatever pass made it), keeps pairs across systems only when linking two files, then
   compares and scores them with the same :class:`~cpgraph.linkage.comparisons.Comparer`
   and :class:`~cpgraph.linkage.scoring.Scorer`, rebuilt on each worker from the Parquet
   records, and the model the driver trained (broadcast once), and returns only the
   kept edges (at or above ``review``, deterministic or cannot-link), as the local
   engine keeps them;
5. connected components of the kept link edges are found on the cluster (each bucket
   its own, then a tree of union-find merges) as the unconstrained pre-partition;
6. the driver orders the kept edges by pair code, which is exactly the local engine's
   order, and the constrained clustering, cohesion and assignment run on it as before.

The candidate pairs (the large part of a run) never reach the driver; the kept edges do.
"""

from __future__ import annotations

import logging
import operator
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cpgraph.errors import LinkageError
from cpgraph.linkage.arrays import unique_sorted
from cpgraph.linkage.blocking import (
    NAME_KEYS,
    _codes,
    _missing_mask,
    _table_for,
    block_pairs,
    year_slip_pairs,
)
from cpgraph.linkage.clustering import PRIORITY_SCORED, connected_components
from cpgraph.linkage.comparisons import Comparer, NamePairs
from cpgraph.linkage.engine import SCORE_CHUNK, LinkageEngine
from cpgraph.linkage.model import Model
from cpgraph.linkage.scoring import Scorer
from cpgraph.linkage.spec import Spec
from cpgraph.linkage.stages import (
    CannotLinks,
    Edges,
    LinkState,
    Prepared,
    PrepareResult,
    ScoreResult,
    split_cannot,
)

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

    from cpgraph.config import Settings

_RECORDS = "records-{:05d}.parquet"
_VARIANTS = "variants-{:05d}.parquet"
_BOUNDS = "year_bounds.parquet"
_LEFT = "left.parquet"
_VARIANT_COLUMNS = ["rec", "vtype", "fn", "mn", "sn", "sn_phonetic", "initials"]


@dataclass(frozen=True)
class DaskOptions:
    """Where and how wide the Dask engine runs.

    Attributes:
        scheduler: a scheduler address (``tcp://host:8786``); None starts a
            ``LocalCluster`` for the run and stops it afterwards.
        workers: the local cluster's worker processes.
        threads: threads per local worker.
        partitions: partitions per blocking pass and pair buckets; 0: twice the
            cluster's threads.
        work_dir: the folder of the run's Parquet tables; every worker must read it
            (shared storage on a real cluster).  None: a temporary folder under
            ``data_dir`` (local clusters only).
    """

    scheduler: str | None = None
    workers: int = 2
    threads: int = 1
    partitions: int = 0
    work_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> DaskOptions:
        """The options ``CPGRAPH_DASK_*`` settings give."""
        work = settings.dask_work_dir
        if work is None:
            work = settings.data_dir.expanduser() / "linkage" / "dask"
        return cls(
            scheduler=settings.dask_scheduler,
            workers=settings.dask_workers,
            threads=settings.dask_threads,
            partitions=settings.dask_partitions,
            work_dir=work,
        )


@dataclass
class DistributedInfo:
    """What the last distributed score stage did (for reports and sizing).

    Attributes:
        partitions: record files, partitions per blocking pass and pair buckets.
        tasks: blocking join tasks run (passes × partitions).
        candidate_pairs: distinct candidate pairs compared on the workers.
        kept_edges: edges returned to the driver.
        components: label per record of the connected components of the kept link
            edges (the smallest record position in the component).
        largest_component: records in the largest component.
    """

    partitions: int
    tasks: int
    candidate_pairs: int
    kept_edges: int
    components: np.ndarray
    largest_component: int


# ----------------------------------------------------------------- files
def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` readable by its owner only (mentions are personal data)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        df.to_parquet(fh, index=False)


# ----------------------------------------------------------------- worker side
# Per worker process, the comparer and scorer of the runs in progress (built once from
# the run's Parquet tables, then shared by the worker's threads).
_SCORERS: dict[str, Scorer] = {}
_SCORERS_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Run:
    """What every task of a run shares (broadcast to the workers once)."""

    run_dir: str
    spec: Spec
    name_pairs: NamePairs
    n: int
    parts: int
    link_only: bool
    incremental: bool
    starts: tuple[int, ...] = ()  # each record file's first record position


def record_files(run_dir: str | Path, parts: int) -> list[tuple[Path, Path]]:
    """The run's (records, variants) Parquet files, in record order."""
    folder = Path(run_dir)
    return [(folder / _RECORDS.format(k), folder / _VARIANTS.format(k)) for k in range(parts)]


def _read_records(run: _Run) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every record and name variant of the run (the local engine's ``s`` and vtable)."""
    files = record_files(run.run_dir, run.parts)
    s = pd.concat([pd.read_parquet(a) for a, _ in files], ignore_index=True)
    v = pd.concat([pd.read_parquet(b) for _, b in files], ignore_index=True)
    return s, v


def _worker_scorer(run: _Run, model: Model) -> Scorer:
    """The run's scorer on this worker: the local engine's, rebuilt from Parquet."""
    with _SCORERS_LOCK:
        hit = _SCORERS.get(run.run_dir)
        if hit is not None:
            return hit
        s, variants = _read_records(run)
        lo = hi = None
        bounds = Path(run.run_dir) / _BOUNDS
        if bounds.exists():
            b = pd.read_parquet(bounds)
            lo, hi = b["lo"].to_numpy(), b["hi"].to_numpy()
        comparer = Comparer(s, variants[_VARIANT_COLUMNS[:5]], run.spec, run.name_pairs)
        scorer = Scorer(comparer, model, run.spec, lo, hi)
        _SCORERS[run.run_dir] = scorer
        return scorer


def _forget(run_dir: str) -> None:
    """Drop a finished run's scorer from this worker."""
    with _SCORERS_LOCK:
        _SCORERS.pop(run_dir, None)


def _bucket_of(code: np.ndarray, buckets: int) -> np.ndarray:
    return (pd.util.hash_array(code) % np.uint64(buckets)).astype(np.int64)


def block_partition_pairs(
    t: pd.DataFrame, keys: list[str], max_block_size: int, n: int
) -> np.ndarray:
    """Pair codes ``i * n + j`` (``i < j``) of one partition of a blocking pass.

    The same join as :func:`cpgraph.linkage.blocking.rule_pairs` after its key table
    (:func:`~cpgraph.linkage.blocking.block_pairs`):
    ``t`` holds every row of the blocks it has (``rec``, the key columns, and ``miss`` /
    ``left`` when the pass has a one-side-missing column / the run is incremental).

    Returns:
        The partition's pair codes (duplicates possible, unsorted).
    """
    if t.empty:
        return np.empty(0, np.int64)
    code = _codes(t, keys)  # blocking.py's grouping, within the partition
    cols = {"code": code, "rec": t["rec"].to_numpy(np.int64)}
    has_miss, has_left = "miss" in t.columns, "left" in t.columns
    if has_miss:
        cols["miss"] = t["miss"].to_numpy(bool)
    if has_left:
        cols["left"] = t["left"].to_numpy(bool)
    # miss and left are per record: dropping duplicate (code, rec) rows keeps them whole
    kr = pd.DataFrame(cols).drop_duplicates(["code", "rec"])
    a, b = block_pairs(
        kr[["code", "rec"]],
        max_block_size,
        kr["miss"].to_numpy(bool) if has_miss else None,
        kr["left"].to_numpy(bool) if has_left else None,
    )
    if "year" in t.columns and len(a):
        # a `year_slip` pass (22-recall11): only pairs whose birth years are a slip apart
        year = pd.Series(t["year"].to_numpy(np.int64), index=t["rec"].to_numpy(np.int64))
        year = year.groupby(level=0).first()
        both = np.r_[year.reindex(a).to_numpy(np.int64), year.reindex(b).to_numpy(np.int64)]
        k = np.arange(len(a))
        keep = year_slip_pairs(both, k, k + len(a))
        a, b = a[keep], b[keep]
    return a * n + b


def block_key_rows(
    s: pd.DataFrame,
    vtable: pd.DataFrame,
    spec: Spec,
    parts: int,
    left: np.ndarray | None = None,
) -> dict[tuple[int, int], pd.DataFrame]:
    """Each blocking pass's key rows of some records, split by a hash of the key.

    Args:
        s: standardised records, indexed by their position in the run.
        vtable: their block table (:func:`~cpgraph.linkage.blocking.variant_block_table`
            rows, ``rec`` the run position; ``attrs["name_pairs"]`` set).
        spec: the spec (blocking passes, in order); passes on a column the data lacks
            are skipped, as :func:`~cpgraph.linkage.blocking.candidate_pairs` skips them.
        parts: partitions per pass.
        left: incremental runs: per run position, whether the record's pairs are wanted.

    Returns:
        ``(pass, partition)`` → rows ``rec``, the pass's keys, ``miss`` and ``left`` when
        they apply (non-empty pieces only).
    """
    out: dict[tuple[int, int], pd.DataFrame] = {}
    first = int(s.index[0]) if len(s) else 0
    for r, rule in enumerate(spec.blocking):
        if any(k not in s.columns and k not in NAME_KEYS for k in rule.keys):
            continue  # a rule on a column this data set does not have
        keys = list(rule.keys)
        t = _table_for(rule, s, vtable)
        if t.empty:
            continue
        t = t[["rec", *keys]].reset_index(drop=True)
        if not any(k in NAME_KEYS for k in keys):
            # (without name keys the table numbers records from 0: shift to run positions)
            t["rec"] = t["rec"].to_numpy(np.int64) + first
        rec = t["rec"].to_numpy(np.int64)
        miss = _missing_mask(s, rule.one_side_missing)
        if miss is not None:
            t["miss"] = miss[rec - first]
        if left is not None:
            t["left"] = left[rec]
        if rule.year_slip:
            t["year"] = s["dob_y"].to_numpy(np.int64)[rec - first]
        h = pd.util.hash_pandas_object(t[keys], index=False).to_numpy()
        part = (h % np.uint64(parts)).astype(np.int64)
        for p in np.unique(part).tolist():
            out[(r, p)] = t[part == p]
    return out


def _keys_task(run: _Run, k: int) -> dict[tuple[int, int], pd.DataFrame]:
    """One record file: its key rows of every pass, by (pass, partition)."""
    a, b = record_files(run.run_dir, run.parts)[k]
    s = pd.read_parquet(a)
    v = pd.read_parquet(b)
    first = run.starts[k]
    s.index = pd.RangeIndex(first, first + len(s))
    v.attrs["name_pairs"] = run.name_pairs
    left = None
    if run.incremental:
        left = pd.read_parquet(Path(run.run_dir) / _LEFT)["left"].to_numpy(bool)
    return block_key_rows(s, v, run.spec, run.parts, left)


def _join_task(pieces: list[pd.DataFrame | None], keys: list[str], run: _Run) -> list:
    """One (pass, partition): its blocks joined, the pair codes split into buckets."""
    rows = [x for x in pieces if x is not None]
    t = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    code = block_partition_pairs(t, keys, run.spec.max_block_size, run.n)
    b = _bucket_of(code, run.parts)
    return [code[b == q] for q in range(run.parts)]


def _score_task(parts: list[np.ndarray], run: _Run, model: Model) -> tuple[Edges, int]:
    """One bucket: its distinct pairs, compared and scored; the kept edges and the count."""
    n = max(run.n, 1)
    code = unique_sorted(np.concatenate(parts)) if parts else np.empty(0, np.int64)
    i, j = code // n, code % n
    scorer = _worker_scorer(run, model)
    if run.link_only:
        g = scorer.comparer.s["grp"].to_numpy()
        keep = g[i] != g[j]
        i, j = i[keep], j[keep]
    # the local engine's own edge filter (review threshold, deterministic, cannot-link)
    engine = LinkageEngine(run.spec)
    engine._src_codes = scorer.source_codes  # (the within-index review band reads them)
    engine._own_ids = scorer.own_ids
    out = [
        engine._edges_from(scorer.score(i[st : st + SCORE_CHUNK], j[st : st + SCORE_CHUNK]))
        for st in range(0, len(i), SCORE_CHUNK)
    ]
    edges = Edges.concat(out) if out else Edges.empty(len(run.spec.comparisons))
    return edges, int(len(i))


def _link_forest(scored: tuple[Edges, int], auto: float) -> tuple[np.ndarray, np.ndarray]:
    """A bucket's kept link edges as a forest: (record, smallest record of its component)."""
    e = scored[0]
    link = ~e.cannot & ((e.priority < PRIORITY_SCORED) | (e.prob >= auto))
    return _forest(e.i[link], e.j[link])


def _forest(i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    nodes = unique_sorted(np.concatenate([i, j]))
    if not len(nodes):
        return nodes, nodes
    lab = connected_components(len(nodes), np.searchsorted(nodes, i), np.searchsorted(nodes, j))
    return nodes, nodes[lab]  # nodes are sorted: the smallest position is the smallest record


def _merge_forests(*forests: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Union-find over forests: each (record, root) is an edge."""
    return _forest(np.concatenate([f[0] for f in forests]), np.concatenate([f[1] for f in forests]))


# ----------------------------------------------------------------- driver side
@contextmanager
def dask_client(options: DaskOptions) -> Iterator[Client]:
    """A client of ``options.scheduler``, or of a ``LocalCluster`` started (and stopped)
    for the block."""
    from distributed import Client  # noqa: PLC0415 — only the dask engine

    if options.scheduler:
        try:
            client = Client(options.scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise LinkageError(
                f"cannot reach the Dask scheduler at {options.scheduler}: {type(exc).__name__}"
            ) from None
        try:
            try:
                client.wait_for_workers(1, timeout=120)
            except TimeoutError:
                raise LinkageError(
                    f"the Dask scheduler at {options.scheduler} has no workers"
                ) from None
            yield client
        finally:
            client.close()
        return
    with local_cluster(options.workers, options.threads) as cluster, Client(cluster) as client:
        client.wait_for_workers(options.workers, timeout=120)
        yield client


# Dask starts its worker processes with MALLOC_TRIM_THRESHOLD_=65536, which returns
# freed memory to the system at once: pandas joins and pair arrays then pay page faults
# on every allocation (measured: blocking and scoring 1.5-1.8x slower).  Workers keep glibc's
# own adaptive threshold.
_WORKER_ENV = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


@contextmanager
def local_cluster(workers: int, threads: int = 1) -> Iterator[LocalCluster]:
    """A ``LocalCluster`` of ``workers`` processes for linkage (stopped after the block).

    Args:
        workers: worker processes.
        threads: threads per worker.
    """
    import dask  # noqa: PLC0415 — only the dask engine
    from distributed import LocalCluster  # noqa: PLC0415

    with (
        dask.config.set(_WORKER_ENV),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=threads,
            processes=True,
            dashboard_address=":0",  # a free port: never 8787 taken by another cluster
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.ERROR,
        ) as cluster,
    ):
        yield cluster


class DaskLinkageEngine(LinkageEngine):
    """:class:`LinkageEngine` whose candidate pairs are made and scored on a Dask cluster.

    The links are the local engine's (same spec, same model, same kept edges in the same
    order); only where the pairs are made and scored differs.

    Args:
        spec: linkage spec (default: the packaged one).
        link_only: only compare mentions from different systems.
        workers: the driver's rapidfuzz threads (relationship rounds, cohesion).
        options: the cluster and the shared folder (default: a local cluster).
        client: a running client to use (not closed here); default: one per run from
            ``options``.
        memory_mb: the driver's memory budget, forks included (as for the local engine:
            a forked job starts only when a full copy of the driver fits in it).
    """

    def __init__(
        self,
        spec: Spec | None = None,
        *,
        link_only: bool = False,
        workers: int = 1,
        options: DaskOptions | None = None,
        client: Client | None = None,
        memory_mb: int | None = None,
    ) -> None:
        super().__init__(spec, link_only=link_only, workers=workers, memory_mb=memory_mb)
        self.options = options or DaskOptions()
        self.client = client
        self.info: DistributedInfo | None = None

    @contextmanager
    def _client(self) -> Iterator[Client]:
        if self.client is not None:
            yield self.client
            return
        with dask_client(self.options) as client:
            yield client

    def _run_dir(self) -> Path:
        base = self.options.work_dir
        if base is None:
            import tempfile  # noqa: PLC0415

            base = Path(tempfile.gettempdir()) / "cpgraph-dask"
        base = Path(base).expanduser()
        if not base.exists():
            _private_dir(base)  # made here: only the service account may list the runs
        return _private_dir(base / uuid.uuid4().hex)

    def _score_stage(
        self, prepared: PrepareResult, state: LinkState | None, timings: dict[str, float]
    ) -> ScoreResult:
        """The local score stage's result, with blocking, comparison and scoring done on
        the cluster (with ``state``: only pairs touching new or changed mentions)."""
        prep, spec = prepared.prep, self.spec
        # as the local engine: stored scores of pairs between unchanged mentions
        changed, parts = self._reused_edges(prepared, state)
        cannot = self._reused_cannot(prepared, state, changed)
        run_dir = self._run_dir()
        try:
            with self._client() as client:
                edges, info = self._distributed_edges(
                    client, prepared, run_dir, changed if state is not None else None, timings
                )
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
        model = prepared.model
        if model is None:  # already waited for in _distributed_edges
            raise LinkageError("the model was not trained")
        scorer = Scorer(prep.comparer, model, spec, prep.year_lo, prep.year_hi)
        self._src_codes = scorer.source_codes
        self._own_ids = scorer.own_ids
        self.info = info
        # cannot-links kept apart, compact, as the local engine keeps them
        edges, new_cannot = split_cannot(edges)
        parts.append(edges)
        cannot = CannotLinks.concat([cannot, new_cannot])
        base = Edges.concat(parts) if parts else Edges.empty(len(spec.comparisons))
        return ScoreResult(
            base=base,
            model=model,
            scorer=scorer,
            changed=changed,
            compared=info.candidate_pairs,
            cannot=cannot,
        )

    def _partitions(self, client: Client) -> int:
        if self.options.partitions > 0:
            return self.options.partitions
        threads = sum(client.nthreads().values()) or 1
        return max(2, 2 * threads)

    def _write_tables(
        self, prepared: PrepareResult, run_dir: Path, parts: int, left: np.ndarray | None
    ) -> tuple[int, ...]:
        """The records and name variants, in ``parts`` files by record range (returns each
        file's first record position)."""
        starts = write_record_files(prepared.prep, run_dir, parts)
        prep = prepared.prep
        n = len(prep.s)
        if prep.year_lo is not None or prep.year_hi is not None:
            lo = prep.year_lo if prep.year_lo is not None else np.full(n, -np.inf)
            hi = prep.year_hi if prep.year_hi is not None else np.full(n, np.inf)
            _write_parquet(
                pd.DataFrame({"lo": np.asarray(lo, float), "hi": np.asarray(hi, float)}),
                run_dir / _BOUNDS,
            )
        if left is not None:
            _write_parquet(pd.DataFrame({"left": left}), run_dir / _LEFT)
        return starts

    def _distributed_edges(
        self,
        client: Client,
        prepared: PrepareResult,
        run_dir: Path,
        left: np.ndarray | None,
        timings: dict[str, float],
    ) -> tuple[Edges, DistributedInfo]:
        """Blocking, comparison, scoring and components on the cluster; the kept edges in
        the local engine's order."""
        spec = self.spec
        n = len(prepared.prep.s)
        t0 = time.perf_counter()
        parts = self._partitions(client)
        starts = self._write_tables(prepared, run_dir, parts, left)
        run = _Run(
            str(run_dir),
            spec,
            tuple(prepared.prep.name_pairs),
            n,
            parts,
            self.link_only,
            left is not None,
            starts,
        )
        # (in a list: scatter would split a collection into its items)
        [run_f] = client.scatter([run], broadcast=True, hash=False)
        keyed = [client.submit(_keys_task, run_f, k, pure=False) for k in range(parts)]
        joins = []
        for r, rule in enumerate(spec.blocking):
            for p in range(parts):
                pieces = [client.submit(dict.get, f, (r, p), pure=False) for f in keyed]
                joins.append(client.submit(_join_task, pieces, list(rule.keys), run_f, pure=False))
        timings["block"] = time.perf_counter() - t0
        if prepared.model is None and prepared.training is not None:
            # blocking needs no model: the tasks above run while the driver waits for it
            t1 = time.perf_counter()
            prepared.model = prepared.training()
            timings["fit"] += time.perf_counter() - t1
        if prepared.model is None:
            raise LinkageError("the model was not trained")
        t1 = time.perf_counter()
        [model_f] = client.scatter([prepared.model], broadcast=True, hash=False)
        scored = []
        for q in range(parts):
            bucket = [client.submit(operator.getitem, j, q, pure=False) for j in joins]
            scored.append(client.submit(_score_task, bucket, run_f, model_f, pure=False))
        forests = [client.submit(_link_forest, f, spec.auto, pure=False) for f in scored]
        # union-find merges as a tree: no one task sees every forest
        while len(forests) > 1:
            forests = [
                client.submit(_merge_forests, *forests[k : k + 2], pure=False)
                if k + 1 < len(forests)
                else forests[k]
                for k in range(0, len(forests), 2)
            ]
        results = client.gather(scored)
        nodes, roots = forests[0].result()
        client.run(_forget, str(run_dir))
        tasks = len(joins)
        del keyed, joins, scored, forests
        edges = Edges.concat([e for e, _ in results])
        # each bucket is sorted by pair code: one stable sort gives the local engine's order
        order = np.argsort(edges.i * max(n, 1) + edges.j, kind="stable")
        edges = edges.take(order)
        labels = np.arange(n, dtype=np.int64)
        labels[np.asarray(nodes, np.int64)] = np.asarray(roots, np.int64)
        sizes = np.bincount(labels, minlength=n) if n else np.zeros(0, np.int64)
        timings["score"] = time.perf_counter() - t1
        info = DistributedInfo(
            partitions=parts,
            tasks=tasks,
            candidate_pairs=int(sum(c for _, c in results)),
            kept_edges=int(len(edges.i)),
            components=labels,
            largest_component=int(sizes.max()) if n else 0,
        )
        return edges, info


def write_record_files(prep: Prepared, run_dir: Path, parts: int) -> tuple[int, ...]:
    """The standardised records and their name variants, in ``parts`` Parquet files by
    record range (what the workers block and compare; read in order, they are the local
    engine's tables).  Returns each file's first record position."""
    s, v = prep.s, prep.vtable[_VARIANT_COLUMNS]
    vrec = v["rec"].to_numpy(np.int64)
    if len(vrec) and (np.diff(vrec) < 0).any():
        # name_variants emits them grouped by record, in record order; slicing relies on it
        raise LinkageError("name variants are not in record order")
    cut = np.linspace(0, len(s), parts + 1).round().astype(np.int64)
    vcut = np.searchsorted(vrec, cut)
    for k, (path_s, path_v) in enumerate(record_files(run_dir, parts)):
        _write_parquet(s.iloc[cut[k] : cut[k + 1]], path_s)
        _write_parquet(v.iloc[vcut[k] : vcut[k + 1]], path_v)
    return tuple(cut[:-1].tolist())


def open_engine(
    spec: Spec | None, settings: Settings, *, engine: str | None = None
) -> LinkageEngine:
    """The engine ``settings.link_engine`` (or ``engine``) names: local or dask."""
    name = engine or settings.link_engine
    # the driver's forks (local engine) or the driver's own (dask) within one budget
    budget = settings.link_memory_mb or None
    if name == "dask":
        return DaskLinkageEngine(
            spec,
            workers=settings.link_workers,
            options=DaskOptions.from_settings(settings),
            memory_mb=budget,
        )
    if name != "local":
        raise LinkageError(f"unknown linkage engine {name!r} (local or dask)")
    # (a large run's cannot-links wait on disk, in the linkage state's own private folder)
    spill = settings.data_dir.expanduser() / "linkage"
    return LinkageEngine(spec, workers=settings.link_workers, memory_mb=budget, spill_dir=spill)
