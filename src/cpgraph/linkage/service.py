"""Linkage against the graph store: the one boundary between the engine and the database.

Reads every person mention (with the relationships it states and the person it
resolves to now), runs the engine, and writes the outcome back: `Person` nodes,
`RESOLVES_TO` edges with probability, method, status and weight breakdown,
retired ids, the stewards' review queue and the person-level `RELATED_TO`
projection. The engine's incremental state is a cache under
`CPGRAPH_DATA_DIR/linkage/`; without it a run is simply a full run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle  # only dumps, to hash a resolution: nothing is ever loaded
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pandas.util import hash_array

from cpgraph.config import Settings
from cpgraph.errors import LinkageError
from cpgraph.files import load_digests, save_digests
from cpgraph.linkage.distributed import open_engine
from cpgraph.linkage.engine import (
    EngineResult,
    LinkageEngine,
    LinkState,
    remove_spill,
    remove_stale_spill,
)
from cpgraph.linkage.forking import release_free_memory
from cpgraph.linkage.model import Model
from cpgraph.linkage.spec import Spec, load_spec, spec_from_dict
from cpgraph.linkage.statefile import (
    load_mentions,
    load_state,
    remove_legacy_pickle,
    save_mentions,
    save_state,
)
from cpgraph.store import GraphStore
from cpgraph.store.base import cursor_pages, json_page
from cpgraph.store.embedded import secure_data_dir

log = logging.getLogger(__name__)

MENTION_COLUMNS = (
    "key", "system", "agency", "kind", "forename", "middle_names", "surname",
    "forename_m", "middle_m", "surname_m", "former_surname_m", "aliases_m", "dob", "sex",
    "postcode", "address", "nhs_number", "nhs_number_valid", "upn", "upn_valid",
    "pnc_id", "pnc_id_valid", "prison_number", "cro_number", "row_hash", "person_id",
)  # fmt: skip
# what the mentions cache holds: all but the person (read from the store every run)
CACHED_COLUMNS = tuple(c for c in MENTION_COLUMNS if c != "person_id")
# keys per `linkage_mentions_by_keys` query
_KEY_BATCH = 5_000
RELATIONSHIP_COLUMNS = (
    "from_key", "to_key", "relationship", "lives_with", "from_date", "to_date", "source_key",
)  # fmt: skip
# Which agency's spelling of a name to show first: legal names before aliases.
_DISPLAY_PREFERENCE = {"education": 0, "health": 1, "childrens_services": 2, "prisons": 3}

Progress = Callable[[str, int, int], None]


@dataclass
class Mentions:
    """What linkage reads from the store.

    During :meth:`LinkageService.link` ``mentions`` is the whole frame until the engine
    takes it, then only the columns the write stage reads (:func:`write_columns`): read
    back from the run's mentions cache once the engine is done (none held meanwhile).
    """

    mentions: pd.DataFrame
    relationships: pd.DataFrame
    previous_ids: dict[str, str]
    #: keys of the mentions new or changed since the cache (``None``: no cache was read)
    fresh: set[str] | None = None


@dataclass
class LinkReport:
    """Summary of one `cpgraph link` run."""

    run_id: str
    incremental: bool
    mentions: int
    persons: int
    auto_links: int
    review_queue: int
    retired: int
    by_method: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    #: persons this run changed: their mentions (new, changed, moved in or out), their
    #: relationships, or their retirement; ``None`` when it cannot say (a full run, or
    #: the last run's cache or projection was not there), as for a first run
    changed_persons: frozenset[str] | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StewardHooks(Protocol):
    """What a linkage run needs from the stewards' side (`cpgraph.steward.linking`).

    Linkage sits below the steward layer: it is handed these rather than importing them.
    """

    async def decisions(self, store: GraphStore) -> list[tuple[str, str, str]]:
        """The standing ``(key_a, key_b, 'LINK' | 'NO_LINK')`` decisions."""
        ...

    def retrain(
        self,
        engine: LinkageEngine,
        mentions: pd.DataFrame,
        base: Model,
        labels: list[tuple[str, str, str]],
    ) -> tuple[Model, dict[str, Any]]:
        """The base model re-estimated from the stewards' labels, with a report."""
        ...

    async def write_review(
        self,
        store: GraphStore,
        review: pd.DataFrame,
        assignments: pd.DataFrame,
        mentions: pd.DataFrame,
        relationships: pd.DataFrame,
        names: Sequence[str],
        run_id: str,
        at: str,
    ) -> int:
        """Store the run's review queue; returns the number of items written."""
        ...


class LinkageService:
    """Runs linkage over the mentions in a graph store."""

    def __init__(
        self,
        store: GraphStore,
        settings: Settings,
        spec: Spec | None = None,
        *,
        steward: StewardHooks | None = None,
    ) -> None:
        """Bind the service to a started store.

        Args:
            store: a started GraphStore.
            settings: cpgraph settings (data dir for the incremental cache, batch size).
            spec: the linkage specification (default: the packaged one).
            steward: the stewards' side of a run (their decisions, retraining, the
                review queue): `cpgraph.steward.linking.linkage_service` wires it.
                Without it the service can read mentions but not link.
        """
        self.store = store
        self.settings = settings
        self.spec = spec or load_spec()
        self.steward = steward
        self.page_size = 50_000

    # ------------------------------------------------------------------ reading
    async def read(self, progress: Progress | None = None, *, cached: bool = False) -> Mentions:
        """Read every mention, its stated relationships and its current person.

        Pages follow the backend's own cursor (``linkage_mentions_start``): internal id
        windows on FalkorDB, the indexed key on Neo4j. The result does not depend on
        it: mentions are returned in key order, relationships sorted by every column.

        Args:
            progress: callback `(stage, done, total)`.
            cached: take the columns of mentions whose ``row_hash`` is unchanged since
                the last run from its cache (:attr:`mentions_path`), and read only the
                key, row hash and person of every mention from the store (the rest only
                for new or changed ones). The result is the same as without it.
        """
        cache = load_mentions(self.mentions_path, CACHED_COLUMNS) if cached else None
        query = "linkage_mention_hashes_page" if cache is not None else "linkage_mentions_page"
        rows: list[list[Any]] = []
        # a full read keeps each page as columns, not as its rows (see `_Columns`)
        cols = _Columns(MENTION_COLUMNS)
        rels = _Columns(RELATIONSHIP_COLUMNS)
        shared = _SharedValues(MENTION_COLUMNS, unique=("key", "row_hash"))
        # (relationship types and dates as well: a string per row was ~50 bytes each; the
        # keys become the mentions' own below)
        shared_rels = _SharedValues(
            RELATIONSHIP_COLUMNS, unique=("from_key", "to_key", "source_key")
        )
        none: list[str] = []  # one empty list for every mention without aliases (read-only)
        pages = cursor_pages(self.store, "linkage_mentions_start", query, limit=self.page_size)
        async for page, after, upto in pages:
            if cache is None:
                cols.add(_no_empty_aliases(shared(page), none))
            else:
                rows.extend(page)
            if page:
                found = await self.store.query("linkage_relationships_page", after=after, upto=upto)
                rels.add(shared_rels(json_page(found[0]["page"])) if found else [])
            del page
            if progress:
                progress("reading mentions", len(rows) + len(cols), 0)
        fresh: set[str] | None = None
        if cache is None:
            mentions = cols.frame()
        else:
            mentions, fresh = await self._merge_cached(rows, cache, shared)
        del rows, cols
        # key order whatever the backend's paging order (positions break ties in linkage)
        mentions = mentions.sort_values("key", kind="stable", ignore_index=True)
        if cache is not None:  # (a full read did it page by page)
            mentions["aliases_m"] = [
                v if isinstance(v, list) and v else none for v in mentions["aliases_m"]
            ]
        previous = {k: p for k, p in zip(mentions["key"], mentions["person_id"], strict=True) if p}
        relationships = rels.frame(keys=mentions["key"])
        del rels
        if len(relationships):
            relationships = relationships.sort_values(
                list(RELATIONSHIP_COLUMNS), kind="stable", ignore_index=True, na_position="first"
            )
        return Mentions(mentions.drop(columns=["person_id"]), relationships, previous, fresh)

    async def _merge_cached(
        self, hashes: list[list[Any]], cache: dict[str, np.ndarray], shared: _SharedValues
    ) -> tuple[pd.DataFrame, set[str] | None]:
        """The mentions frame of :meth:`read` from ``[key, row_hash, person_id]`` rows: the
        cache's columns where its row hash is the store's, the store's rows elsewhere.
        Returned with the keys of those read from the store, or ``None`` when a cached
        mention is no longer stored (whose person the run cannot name)."""
        keys = np.array([r[0] for r in hashes], dtype=object)
        now = np.array([r[1] for r in hashes], dtype=object)
        at = pd.Index(cache["key"]).get_indexer(keys)  # -1: not in the cache
        hit = at >= 0
        hit[hit] = cache["row_hash"][at[hit]] == now[hit]
        hit &= pd.notna(now)  # (a mention without a hash is always read)
        todo = keys[~hit].tolist()
        read_rows: list[list[Any]] = []
        for i in range(0, len(todo), _KEY_BATCH):
            found = await self.store.query(
                "linkage_mentions_by_keys", keys=todo[i : i + _KEY_BATCH]
            )
            read_rows.extend(shared(json_page(found[0]["page"]) if found else []))
        got = pd.DataFrame(read_rows, columns=list(MENTION_COLUMNS))
        gone = set(todo) - set(got["key"])
        if gone:  # (deleted since its key was read: as a full read after it would be)
            keep = ~pd.Series(keys).isin(gone).to_numpy()
            keys, at, hit = keys[keep], at[keep], hit[keep]
            hashes = [r for r, k in zip(hashes, keep.tolist(), strict=True) if k]
        got = got.set_index("key").reindex(keys[~hit])
        columns: dict[str, np.ndarray] = {}
        for name in MENTION_COLUMNS:
            values = np.empty(len(keys), dtype=object)
            if name == "key":
                values[:] = keys
            elif name == "person_id":
                values[:] = [r[2] for r in hashes]
            else:
                values[hit] = cache[name][at[hit]]
                values[~hit] = got[name].to_numpy(object)
            columns[name] = values
        # every cached mention still stored? (keys are unique: one position each)
        whole = int((at >= 0).sum()) == len(cache["key"])
        fresh = set(keys[~hit].tolist()) if whole else None
        # the dtypes a frame built from rows has (all-bool columns are bool, as in `read`)
        return pd.DataFrame(columns).infer_objects(), fresh

    @property
    def mentions_path(self) -> Path:
        """Where the last run's mentions are cached (Parquet: plain data, no code)."""
        name = f"{self.store.backend}-{self.settings.graph_name}-mentions.parquet"
        return self.settings.data_dir.expanduser() / "linkage" / name

    # ------------------------------------------------------------------ state cache
    @property
    def state_path(self) -> Path:
        """Where the incremental state is cached (``.npz``: no code runs on loading it)."""
        name = f"{self.store.backend}-{self.settings.graph_name}-state.npz"
        return self.settings.data_dir.expanduser() / "linkage" / name

    def _load_state(self) -> LinkState | None:
        return load_state(self.state_path, self.spec.version)

    def _stage_state(self, state: LinkState) -> Path:
        """Write ``state`` beside :attr:`state_path`; returns the file to put in its place
        once the run's writes succeeded (a failed run leaves the last run's state)."""
        secure_data_dir(self.settings.data_dir.expanduser())  # 0700, on any backend
        staged = self.state_path.with_name(self.state_path.name + ".staged")
        save_state(staged, state, self.spec.version)
        # An older version's pickle cache is never read (loading it could run code).
        remove_legacy_pickle(self.state_path.with_suffix(".pkl"))
        return staged

    def _cached_write_columns(self) -> pd.DataFrame:
        """The write stage's columns (`WRITE_COLUMNS`) of the mentions cache this run
        saved, in its order (the engine's).

        Raises:
            LinkageError: the file cannot be read back.
        """
        got = load_mentions(self.mentions_path, CACHED_COLUMNS, only=WRITE_COLUMNS)
        if got is None:
            raise LinkageError(
                "the mentions cache this run wrote could not be read back "
                f"({self.mentions_path.name}): run `cpgraph link --full` again"
            )
        return pd.DataFrame(got)

    # ------------------------------------------------------------------ running
    async def link(
        self, *, full: bool = False, progress: Progress | None = None, retrain: bool = False
    ) -> LinkReport:
        """Resolve every mention to a person and write the outcome to the store.

        Args:
            full: recompute every pair instead of only new or changed mentions.
            progress: callback `(stage, done, total)`.
            retrain: re-estimate m (and blend u) from the stewards' LINK / NO_LINK
                decisions before linking (implies a full run).

        Raises:
            LinkageError: there are no mentions to link.
        """
        _ = self._hooks  # refuse before any work without the stewards' side
        t0 = time.perf_counter()
        # spilled cannot-links a killed run left behind
        remove_stale_spill(self.state_path.parent)
        # (an incremental run reads unchanged mentions from the last run's cache)
        data = await self.read(progress, cached=not (full or retrain))
        if data.mentions.empty:
            raise LinkageError("no person mentions are loaded: run `cpgraph load` first")
        read_s = time.perf_counter() - t0
        retired = {r["person_id"] for r in await self.store.query("linkage_retired_ids")}
        cached = self._load_state() if retrain or not full else None
        state = None if full or retrain else cached
        # Only trust a cached state when the previous run's ids are in the graph, and only
        # for the spec that produced it (`link --spec` with another spec is a full run).
        if state is not None and not data.previous_ids:
            state = None
        if state is not None:
            previous = await stored_spec(self.store)
            if previous is not None and previous != self.spec.raw:
                state = None
        # local, or a Dask cluster (CPGRAPH_LINK_ENGINE, docs/distributed.md)
        engine = open_engine(self.spec, self.settings)
        steward = await self._steward_decisions()
        model = None
        retrained: dict[str, Any] | None = None
        if retrain:
            model, retrained = await self._retrained_model(engine, data, cached, steward)
        # The engine drops the last run's state as it goes (its edges and cannot-links,
        # ~0.8 GB at 1.29M mentions): nothing here holds it meanwhile.
        incremental = state is not None
        written = state.written if state is not None else None
        handed = [state]
        del state, cached
        if progress:
            progress("linking", 0, 1)
        # The next incremental run reads unchanged mentions from this cache (keyed by row
        # hash, so it holds whatever becomes of this run); saved now, while every column
        # is still here.
        cached_now = save_mentions(self.mentions_path, data.mentions)
        # The write stage reads a few columns of the mentions: the whole frame (~1 GB at
        # 1.29M mentions) is handed to the engine, which drops it once the records are
        # prepared, and nothing here holds it meanwhile. Those columns are read back from
        # the cache once the engine is done (~0.25 GB at 1.29M not held through it); kept
        # here only when the cache could not be written.
        handover = [data.mentions]
        data.mentions = write_columns(data.mentions.iloc[:0] if cached_now else data.mentions)
        # (the pages parsed while reading are garbage the heap would otherwise keep)
        release_free_memory()
        result = engine.link(
            handover.pop(),
            data.relationships[["from_key", "to_key", "relationship", "lives_with"]],
            steward=steward,
            previous_ids=data.previous_ids,
            reserved_ids=retired,
            state=handed.pop(),
            model=model,
            full=full or not incremental,
        )
        if progress:
            progress("linking", 1, 1)
        t1 = time.perf_counter()
        spilled = result.state.cannot_files
        try:
            if cached_now:
                data.mentions = self._cached_write_columns()
            run_id = uuid.uuid4().hex
            # an incremental run rewrites only the resolutions that changed
            write_parts, changed = await self._write(result, data, run_id, retired, written)
        finally:
            # (the state was saved with them, or the run failed: either way not needed)
            remove_spill(spilled)
        write_s = time.perf_counter() - t1
        methods = result.assignments["method"].value_counts().to_dict()
        report = LinkReport(
            run_id=run_id,
            incremental=incremental,
            mentions=len(result.assignments),
            persons=int(result.assignments["person_id"].nunique()),
            auto_links=int((result.assignments["status"] == "auto").sum()),
            # Pairs a steward already decided stay in the engine's review set;
            # the queue is what is still open.
            review_queue=(await self.store.query("linkage_review_open_count"))[0]["open"],
            retired=len(result.retired_ids),
            by_method={str(k): int(v) for k, v in methods.items()},
            timings={"read": read_s, **result.timings, "write": write_s, **write_parts},
            changed_persons=changed,
        )
        await self.store.execute(
            "linkage_run_record",
            run_id=run_id,
            at=_now(),
            summary=_json({**result.summary, **report.__dict__, "retrained": retrained}),
            model=_json(result.model.to_dict()),
            spec_version=str(self.spec.version),
            # the run's own spec: the queue's waterfalls and explanations use it, not
            # whatever spec is packaged when they are read
            spec=_json(self.spec.raw),
            max_person_id=_max_person_id(result, retired),
            name_variants=[f"{a}|{b}" for a, b in result.model.name_variants],
        )
        return report

    @property
    def _hooks(self) -> StewardHooks:
        if self.steward is None:
            # a run without the stewards' decisions and queue would hide what it could
            # not decide: never link that way
            raise LinkageError(
                "linking needs the stewards' hooks: build the service with "
                "cpgraph.steward.linking.linkage_service"
            )
        return self.steward

    async def _steward_decisions(self) -> list[tuple[str, str, str]]:
        """The stewards' standing LINK / NO_LINK pairs (the latest decision per pair)."""
        return await self._hooks.decisions(self.store)

    async def _retrained_model(
        self,
        engine: LinkageEngine,
        data: Mentions,
        cached: LinkState | None,
        labels: list[tuple[str, str, str]],
    ) -> tuple[Any, dict[str, Any]]:
        """The last model (cached, stored, or fitted now) retrained on steward labels."""
        base = cached.model if cached is not None else None
        if base is None:
            run = await last_run(self.store)
            stored = run.get("model") if run else None
            if stored and stored.get("spec_version") == self.spec.version:
                base = Model.from_dict(stored)
        if base is None:
            base = engine.fit(data.mentions)
        if base.diagnostics.get("retrained"):
            # Retraining starts from the unsupervised model, never from a retrained one.
            base = engine.fit(data.mentions)
        return self._hooks.retrain(engine, data.mentions, base, labels)

    # ------------------------------------------------------------------ writing
    async def _write(
        self,
        result: EngineResult,
        data: Mentions,
        run_id: str,
        already_retired: set[str],
        written: pd.Series | None = None,
    ) -> tuple[dict[str, float], frozenset[str] | None]:
        """Write a run's outcome.

        Returns:
            The seconds of each write stage (``write_*``), and the persons the run
            changed (`LinkReport.changed_persons`).
        """
        t0 = time.perf_counter()
        at = _now()
        a = result.assignments
        display = self._display_names(a, data.mentions)
        keys = a["key"].to_numpy(object)
        pids = a["person_id"].to_numpy(object)
        cols = (keys, pids, a["probability"].to_numpy(), a["method"].to_numpy(object),
                a["status"].to_numpy(object), a["breakdown"].to_numpy(object))  # fmt: skip

        def what(k: int) -> tuple[Any, ...]:
            """What mention ``k``'s resolution says (its row is made of it;
            `resolution_digests` hashes the same fields)."""
            key, pid, prob, method, status, bd = (c[k] for c in cols)
            prob = float(prob) if prob == prob else None
            return (key, pid, display.get(pid, ""), prob, method, status, bd or None)

        # what each mention's resolution says, hashed: kept in the state for the next run
        digest = resolution_digests(cols, [display.get(p, "") for p in pids.tolist()])
        result.state.written = pd.Series(digest, index=keys)
        # The next run's state is written now, beside the file it replaces, and put in its
        # place once every write below succeeded: its kept edges and cannot-links (~0.5 GB
        # at 1.29M mentions) are not held through the writes.
        staged = self._stage_state(result.state)
        st = result.state  # (what stays: the model and the keys' hashes)
        # (a copy: a slice would keep the arrays)
        result.state = replace(
            st, edges=st.edges.iloc[:0].copy(), cannot=None, scope=None, cannot_files=None
        )
        del st
        # each mention's person in the store as the run read it (None: a new mention);
        # only an incremental run compares with it
        stored = np.empty(0, dtype=object)
        if written is not None:
            stored = np.array([data.previous_ids.get(k) for k in keys], dtype=object)
        try:
            todo = np.arange(len(keys))
            if written is not None and len(keys):
                # unchanged: the same hash as last written and the same person in the store now
                before = written.reindex(keys, fill_value=0).to_numpy(np.uint64)
                same = (before == digest) & (stored == pids)
                todo = np.flatnonzero(~same)

            # breakdowns are shared dicts (see `resolution_digests`): each one's text is
            # made once, and only for the rows written (it costs more than the hash)
            texts: dict[int, str] = {}

            def row(k: int) -> dict[str, Any]:
                key, pid, name, prob, method, status, bd = what(k)
                text = None
                if bd:
                    text = texts.get(id(bd))
                    if text is None:
                        text = texts[id(bd)] = stored_breakdown(bd)
                return {
                    "key": key,
                    "person_id": pid,
                    "display_name": name,
                    "created_at": at,
                    "probability": prob,
                    "method": method,
                    "status": status,
                    "breakdown": text,
                }

            await self._write_resolutions(todo, keys, pids, row, data.previous_ids)
            live = set(a["person_id"])
            revived = [{"person_id": p} for p in sorted(live & already_retired)]
            if revived:
                await self.store.write_batches("linkage_persons_unretire", revived)
            await self._retire(result, data, live, at)
            t1 = time.perf_counter()
            await self._write_review(result, run_id, at, a, data)
            t2 = time.perf_counter()
            ends = await self._project_relationships(
                a, data.relationships, run_id, written is not None
            )
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        staged.replace(self.state_path)
        t3 = time.perf_counter()
        changed = None
        if written is not None and data.fresh is not None and ends is not None:
            fresh = pd.Index(keys).isin(list(data.fresh))
            also = {*result.retired_ids, *ends, *(r["person_id"] for r in revived)}
            changed = changed_persons(stored, pids, fresh, also)
        timings = {"write_resolutions": t1 - t0, "write_review": t2 - t1, "write_related": t3 - t2}
        return timings, changed

    async def _write_resolutions(
        self,
        todo: np.ndarray,
        keys: np.ndarray,
        pids: np.ndarray,
        row: Callable[[int], dict[str, Any]],
        previous_ids: dict[str, str],
    ) -> None:
        """Write the resolutions of mentions ``todo`` by what each resolved to when the run
        read it; ``row(k)`` makes mention ``k``'s row.

        A mention with no person yet needs no old edge looked up and removed, one that
        stays with its person only its edge refreshed; only a mention that moves to
        another person takes the full detach-and-merge query (`persons_resolve_upsert`).
        Rows are made a batch at a time as they are written: a full run's rows with
        their breakdowns' JSON are ~1 KB a mention.
        """
        before = np.array([previous_ids.get(k) for k in keys[todo].tolist()], dtype=object)
        new = np.equal(before, None)
        same = ~new & (before == pids[todo])
        # each mention is in one part and its edges are its own: the order is free
        for name, part in (
            ("persons_resolve_upsert", todo[~new & ~same]),
            ("persons_resolve_same", todo[same]),
            ("persons_resolve_new", todo[new]),
        ):
            if len(part):
                await self.store.write_batches(name, map(row, part.tolist()))

    @staticmethod
    def _display_names(a: pd.DataFrame, mentions: pd.DataFrame) -> dict[str, str]:
        """Each person's display name: the name on its record of the most preferred
        agency (`_DISPLAY_PREFERENCE`), the alphabetically first among equals."""
        return display_names(a["person_id"].to_numpy(object), a["key"].to_numpy(object), mentions)

    async def _retire(self, result: EngineResult, data: Mentions, live: set[str], at: str) -> None:
        if not result.retired_ids:
            return
        new_of = dict(zip(result.assignments["key"], result.assignments["person_id"], strict=True))
        # A retired id points at the person most of its former mentions went to.
        votes: dict[str, dict[str, int]] = {}
        for key, old in data.previous_ids.items():
            new = new_of.get(key)
            if new and new != old:
                votes.setdefault(old, {}).setdefault(new, 0)
                votes[old][new] += 1
        rows = []
        for pid in result.retired_ids:
            if pid in live:
                continue
            into = max(sorted(votes.get(pid, {}).items()), key=lambda kv: kv[1], default=None)
            rows.append(
                {
                    "person_id": pid,
                    "into": into[0] if into else None,
                    "at": at,
                    "reason": "merged" if into else "no mentions",
                }
            )
        if rows:
            await self.store.write_batches("linkage_persons_retire", rows)

    async def _write_review(
        self, result: EngineResult, run_id: str, at: str, a: pd.DataFrame, data: Mentions
    ) -> None:
        """Store the review queue as this run decides it (see `cpgraph.steward.queue`)."""
        await self._hooks.write_review(
            self.store,
            result.review,
            a[["key", "person_id"]],
            data.mentions,
            data.relationships,
            self.spec.names,
            run_id,
            at,
        )

    @property
    def related_path(self) -> Path:
        """What the last run wrote of the ``RELATED_TO`` projection (keys and digests)."""
        name = f"{self.store.backend}-{self.settings.graph_name}-related.npz"
        return self.settings.data_dir.expanduser() / "linkage" / name

    async def _project_relationships(
        self, a: pd.DataFrame, rels: pd.DataFrame, run_id: str, incremental: bool = False
    ) -> set[str] | None:
        """Write the person-level ``RELATED_TO`` projection.

        A full run writes every edge and prunes the ones it did not write. An
        incremental run compares each edge with what the last run wrote (kept beside
        the state, trusted only when the store holds as many edges as it lists) and
        writes only new or changed edges and deletes only the ones gone: an unchanged
        edge keeps the id of the run that wrote it (``run_id``).

        Returns:
            The persons at either end of an edge written or deleted by an incremental
            run; ``None`` when every edge was written.
        """
        keys: list[str] = []
        digests: list[int] = []
        ends: set[str] | None = None
        before = load_digests(self.related_path) if incremental else None
        if before is not None:
            stored = (await self.store.query("linkage_related_to_count"))[0]["edges"]
            if int(stored) != len(before):
                before = None  # edges changed behind the record: rewrite them all
        if before is None:

            def noted(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
                for row in rows:
                    keys.append(_edge_key(row))
                    digests.append(_edge_digest(row))
                    yield row

            # written as they are made (never every edge's row at once)
            rows = noted(iter_relationship_rows(a, rels, run_id))
            await self.store.write_batches("person_relationships_upsert", rows)
            while True:
                deleted = await self.store.query(
                    "linkage_related_to_prune", run_id=run_id, limit=50_000
                )
                if not deleted or deleted[0]["deleted"] == 0:
                    break
        else:
            made = relationship_rows(a, rels, run_id)
            keys = [_edge_key(r) for r in made]
            digests = [_edge_digest(r) for r in made]
            now = dict(zip(keys, digests, strict=True))
            changed = [
                row for row, key, d in zip(made, keys, digests, strict=True) if before.get(key) != d
            ]
            gone = [_edge_of(key) for key in sorted(before.keys() - now.keys())]
            if gone:
                await self.store.write_batches("linkage_related_to_delete", gone)
            if changed:
                await self.store.write_batches("person_relationships_upsert", changed)
            ends = {e[side] for e in gone for side in ("from_id", "to_id")}
            ends |= {r[side] for r in changed for side in ("from_id", "to_id")}
        secure_data_dir(self.settings.data_dir.expanduser())
        save_digests(self.related_path, keys, np.array(digests, dtype=np.uint64))
        return ends

    # ------------------------------------------------------------------ outputs
    async def assignments(self) -> pd.DataFrame:
        """Every mention with its person id and status (`record_key, person_id, status`),
        in key order (pages follow the backend's cursor, as :meth:`read`'s)."""
        rows: list[list[Any]] = []
        pages = cursor_pages(
            self.store, "linkage_mentions_start", "links_export_page", limit=50_000
        )
        async for page, _, _ in pages:
            rows.extend(page)
        frame = pd.DataFrame(rows, columns=["key", "person_id", "status"])
        frame = frame.sort_values("key", kind="stable", ignore_index=True)
        return frame.rename(columns={"key": "record_key"})


# what the write stage reads of each mention: display names (`_display_names`) and the
# review queue's records (`cpgraph.steward.queue.queue_rows`)
WRITE_COLUMNS = ("key", "system", "agency", "forename", "surname", "dob", "row_hash")


def display_names(pids: np.ndarray, keys: np.ndarray, mentions: pd.DataFrame) -> dict[str, str]:
    """Person id → display name (see `LinkageService._display_names`).

    Args:
        pids: each assigned mention's person.
        keys: the same mentions' keys.
        mentions: ``key, agency, forename, surname`` of the mentions.

    Returns:
        One name per person with a named mention.
    """
    m = mentions[["key", "agency", "forename", "surname"]]
    if not np.array_equal(m["key"].to_numpy(object), keys):
        # (the engine returns the mentions in their own order: no look-up, as a rule)
        m = m.set_index("key").reindex(keys).reset_index()
    # the name of each distinct (forename, surname), made once (not a string per mention)
    fc, fu = pd.factorize(m["forename"].fillna("").to_numpy(object))
    sc, su = pd.factorize(m["surname"].fillna("").to_numpy(object))
    pair, pairs = pd.factorize(fc.astype(np.int64) * (len(su) + 1) + sc)
    fu, su = np.asarray(fu, object), np.asarray(su, object)
    made = [f"{fu[p // (len(su) + 1)]} {su[p % (len(su) + 1)]}".strip() for p in pairs.tolist()]
    # names as ranks in sorted order (equal names, equal ranks)
    ranked = pd.Series(made, dtype=object).rank(method="dense").to_numpy(np.int64)
    empty = np.array([x == "" for x in made], bool)
    named = np.flatnonzero(~empty[pair])
    if not len(named):
        return {}
    rank = m["agency"].map(_DISPLAY_PREFERENCE).fillna(9).to_numpy(np.float64)
    # persons, then agency rank, then name: sorted codes instead of a frame of strings
    pid_code, pid_uniq = pd.factorize(pids[named], sort=True)
    name_code = ranked[pair[named]]
    order = np.lexsort((name_code, rank[named], pid_code))
    first = order[np.r_[True, pid_code[order][1:] != pid_code[order][:-1]]]
    return dict(
        zip(
            np.asarray(pid_uniq, object)[pid_code[first]].tolist(),
            np.asarray(made, object)[pair[named][first]].tolist(),
            strict=True,
        )
    )


def write_columns(mentions: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``mentions`` the write stage reads (`WRITE_COLUMNS`), as a new frame.

    Args:
        mentions: the mentions as :meth:`LinkageService.read` returns them.

    Returns:
        A frame of those columns (present ones only) sharing the values' objects.
    """
    # (copied: a column of a frame's block is a view that would keep the whole block)
    return pd.DataFrame(
        {c: mentions[c].to_numpy(copy=True) for c in WRITE_COLUMNS if c in mentions.columns}
    )


def _no_empty_aliases(page: list[list[Any]], none: list[str]) -> list[list[Any]]:
    """``page`` with each mention's empty (or missing) alias list made ``none`` (in place)."""
    k = MENTION_COLUMNS.index("aliases_m")
    for row in page:
        v = row[k]
        if not (isinstance(v, list) and v):
            row[k] = none
    return page


class _Columns:
    """The rows of the pages read, kept as one list per column.

    Kept as rows, every mention held a 26-item list until the frame was built (~280
    bytes each), allocated between the strings kept from the same page: once freed, the
    heap could not give those pages back (at 1.29M mentions most of the ~1 GB the read
    left behind). A page's row lists die with the page, and the next page reuses them.
    """

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self.values: list[list[Any]] = [[] for _ in columns]

    def __len__(self) -> int:
        return len(self.values[0])

    def add(self, page: list[list[Any]]) -> None:
        """Append a page's rows (each in ``columns`` order)."""
        if page:
            for col, values in zip(self.values, zip(*page, strict=True), strict=True):
                col.extend(values)

    def frame(self, keys: pd.Series | None = None) -> pd.DataFrame:
        """The rows as a frame, as ``pd.DataFrame(rows, columns=...)`` makes it, the lists
        emptied as they go in; ``keys``: the mentions' keys, whose string objects the
        ``*_key`` columns' equal keys become (each held once, not once per relationship).
        """
        if keys is not None:
            same = dict(zip(keys.tolist(), keys.tolist(), strict=True))
            for name, col in zip(self.columns, self.values, strict=True):
                if name in ("from_key", "to_key"):
                    col[:] = [same.get(k, k) for k in col]
            del same
        n = len(self)
        arrays = {}
        for name, col in zip(self.columns, self.values, strict=True):
            # (fromiter: a list value stays one item, never a second axis)
            arrays[name] = np.fromiter(col, dtype=object, count=n)
            col.clear()
        # the dtypes a frame built from the rows has (all-bool columns are bool)
        return pd.DataFrame(arrays, copy=False).infer_objects()


class _SharedValues:
    """Makes equal strings of a column one object across every page read.

    A parsed page holds a new string object per value: at 1.29M mentions the frame held
    ~1.1 KB per mention, most of it copies of the same surnames, postcodes, dates and
    system names. Columns whose values are unique per mention (``unique``) are left alone.
    """

    def __init__(self, columns: tuple[str, ...], unique: tuple[str, ...]) -> None:
        self.cols = [k for k, c in enumerate(columns) if c not in unique]
        self.seen: dict[str, str] = {}

    def __call__(self, page: list[list[Any]]) -> list[list[Any]]:
        """``page`` with its strings replaced by the first equal string seen (in place)."""
        seen, cols = self.seen, self.cols
        for n, row in enumerate(page):
            if not isinstance(row, list):  # (a driver's own sequence type)
                row = page[n] = list(row)
            for k in cols:
                v = row[k]
                if type(v) is str:
                    row[k] = seen.setdefault(v, v)
        return page


def relationship_rows(a: pd.DataFrame, rels: pd.DataFrame, run_id: str) -> list[dict[str, Any]]:
    """The person-level ``RELATED_TO`` rows projected from stated relationships.

    One row per ``(from_id, to_id, relationship)`` in that order, over the stated
    relationships whose two records resolve to two different persons: ``lives_with``
    true if any source says so (None when none says), the earliest start, the latest
    end (None when some source leaves it open), and every record stating it.

    Args:
        a: the assignments (``key``, ``person_id``).
        rels: the stated relationships (`RELATIONSHIP_COLUMNS`).
        run_id: the run writing them (older edges are pruned by it).
    """
    return list(iter_relationship_rows(a, rels, run_id))


def iter_relationship_rows(
    a: pd.DataFrame, rels: pd.DataFrame, run_id: str
) -> Iterator[dict[str, Any]]:
    """:func:`relationship_rows` one at a time, in the same order.

    A full run writes them as they are made: at 1.29M mentions the rows of every edge
    at once (~350 bytes each) were the write stage's largest table. Each group's
    sources and dates are folded in as they come (the earliest start and latest end
    as ``min``/``max`` of them would be), and a group is dropped once its row is made.
    """
    if rels.empty:
        return
    # each end's person by position, not a dict of every key (~100 bytes a mention)
    index = pd.Index(a["key"].to_numpy(object))
    pids = a["person_id"].to_numpy(object)
    if index.is_unique:
        none = np.array([None], dtype=object)
        pids = np.concatenate([pids, none])  # (position -1: a key with no mention)
        fids = pids[index.get_indexer(rels["from_key"].to_numpy(object))]
        tids = pids[index.get_indexer(rels["to_key"].to_numpy(object))]
    else:
        person_of = dict(zip(a["key"], a["person_id"], strict=True))
        fids = np.array([person_of.get(k) for k in rels["from_key"]], dtype=object)
        tids = np.array([person_of.get(k) for k in rels["to_key"]], dtype=object)
    del index
    # One pass in plain Python: a pandas group per edge cost seconds per 50k edges.
    # [any lives_with stated, any true, earliest start, latest end, an end left open,
    # sources (each record once when the row is made)]
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for fk, tk, fid, tid, rel, lives, fd, td in zip(
        rels["from_key"], rels["to_key"], fids, tids, rels["relationship"],
        rels["lives_with"], rels["from_date"], rels["to_date"], strict=True,
    ):  # fmt: skip
        if _missing(fid) or _missing(tid) or fid == tid or _missing(rel):
            continue
        g = groups.get((fid, tid, rel))
        if g is None:
            g = groups[(fid, tid, rel)] = [False, False, None, None, False, []]
        if not _missing(lives):
            g[0] = True
            g[1] = g[1] or bool(lives)
        if not _missing(fd) and (g[2] is None or fd < g[2]):
            g[2] = fd
        if _missing(td):
            g[4] = True
        elif g[3] is None or td > g[3]:
            g[3] = td
        g[5].append(fk)
        g[5].append(tk)
    del fids, tids
    for fid, tid, rel in sorted(groups):
        g = groups.pop((fid, tid, rel))
        yield {
            "from_id": fid,
            "to_id": tid,
            "relationship": rel,
            "lives_with": g[1] if g[0] else None,
            "from_date": None if g[2] is None else str(g[2]),
            # An open-ended relationship (no end date on some source) stays open.
            "to_date": None if g[4] or g[3] is None else str(g[3]),
            "sources": sorted(set(g[5])),
            "run_id": run_id,
        }


def resolution_digests(cols: tuple[np.ndarray, ...], names: list[str]) -> np.ndarray:
    """What each mention's resolution says, hashed to a uint64 (the rows `_write` makes).

    Args:
        cols: the assignments' ``key, person_id, probability, method, status,
            breakdown`` columns.
        names: each row's person's display name.

    Returns:
        One digest per row; equal rows, equal digests.
    """
    keys, pids, prob, method, status, bds = cols
    # Breakdowns are shared read-only dicts (one per distinct edge shape, see the
    # engine's `_bds`): each is pickled once, not once per mention. The rest is hashed a
    # column at a time (~20 times cheaper than a pickle per row at 1M mentions).
    made: dict[int, int] = {}
    bd = np.zeros(len(keys), np.uint64)
    for k, d in enumerate(bds.tolist()):
        if d:
            h = made.get(id(d))
            if h is None:
                h = made[id(d)] = _digest(d)
            bd[k] = h
    p = np.asarray(prob, np.float64)
    # (values, whether to factorize them first: keys, persons and names are mostly
    # unique, where factorizing would cost more than it saves; methods and statuses not)
    columns = (
        (keys, False),
        (pids, False),
        (np.asarray(names, dtype=object), False),
        (np.where(np.isnan(p), np.inf, p), False),  # (a missing probability is one value)
        (method, True),
        (status, True),
        (bd, False),
    )
    # (the stored text's format is part of what a row says: a store written in an older
    # format is rewritten once, by the first run after an upgrade)
    out = np.full(len(keys), BREAKDOWN_FORMAT, np.uint64)
    for values, categorize in columns:
        # (uint64 arithmetic wraps, as a hash combination should)
        out = out * _FNV_PRIME ^ hash_array(values, categorize=categorize)
    return out


_FNV_PRIME = np.uint64(0x100000001B3)

#: The version of `stored_breakdown`'s text (1: ``{name: {"level", "weight"}}`` with
#: every comparison; 2: ``{name: [level, weight]}`` without the missing ones).
BREAKDOWN_FORMAT = 2


def stored_breakdown(breakdown: dict[str, Any]) -> str:
    """A resolution's weight breakdown as its ``RESOLVES_TO`` edge stores it.

    Compact JSON, ``{comparison: [level, weight], ...}`` in the breakdown's order. A
    comparison with no value on one side (level ``missing``, weight 0) is left out:
    absent means missing, and the 13 such entries of a typical pair were most of the
    text (at 235k mentions, 131 MB of breakdowns become 37 MB, a sixth of the store).

    Args:
        breakdown: ``{comparison: {"level": ..., "weight": ...}}`` as the engine
            made it (steps other than comparisons too: ``same_source``,
            ``relationship``, ``prior``, ``kept_apart``).

    Returns:
        The JSON text.
    """
    out = {
        name: [step["level"], step["weight"]]
        for name, step in breakdown.items()
        if not (step["level"] == "missing" and step["weight"] == 0)
    }
    return json.dumps(out, separators=(",", ":"), default=_plain)


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers for JSON (anything else as its text)."""
    return value.item() if isinstance(value, np.generic) else str(value)


def _digest(what: Any) -> int:
    """``what`` hashed to a uint64. Pickled only to be hashed, never loaded: it is
    several times cheaper than JSON and as exact."""
    raw = hashlib.blake2b(pickle.dumps(what, protocol=5), digest_size=8).digest()
    return int.from_bytes(raw, "little")


_KEY_SEP = "\x1f"  # in no person id or relationship type


def _edge_key(row: dict[str, Any]) -> str:
    """A ``RELATED_TO`` edge's identity: its two persons and the relationship."""
    return _KEY_SEP.join((row["from_id"], row["to_id"], row["relationship"]))


def _edge_of(key: str) -> dict[str, str]:
    from_id, to_id, relationship = key.split(_KEY_SEP)
    return {"from_id": from_id, "to_id": to_id, "relationship": relationship}


def _edge_digest(row: dict[str, Any]) -> int:
    """What a ``RELATED_TO`` row writes on its edge (all but the run), as a uint64."""
    # (the rows share one key order)
    return _digest(tuple((k, v) for k, v in row.items() if k != "run_id"))


def changed_persons(
    stored: np.ndarray, pids: np.ndarray, fresh: np.ndarray, also: set[str]
) -> frozenset[str]:
    """The persons a run changed, which a scoped flags run starts from
    (`cpgraph.flags.compute_flags`).

    Flags read which records a person holds, never a link's probability or breakdown:
    a resolution rewritten for those alone changes no person.

    Args:
        stored: each mention's person in the store when the run read it (None: new).
        pids: each mention's person after the run.
        fresh: each mention new or changed since the last run's cache.
        also: persons changed otherwise (retired, revived, at an end of a
            ``RELATED_TO`` edge written or deleted).

    Returns:
        Both persons of every mention that moved, the person of every new or changed
        mention, and ``also``.
    """
    moved = stored != pids  # (new mentions too: no person before)
    return frozenset(
        {*pids[moved | fresh].tolist(), *also}
        | {p for p in stored[moved].tolist() if p is not None}
    )


def _missing(value: Any) -> bool:
    """None or NaN (what pandas' ``dropna`` drops)."""
    return value is None or (isinstance(value, float) and value != value)


def _max_person_id(result: EngineResult, retired: set[str]) -> str | None:
    """The highest generated id (``P`` + digits) in use or retired after a run."""
    ids = {*result.assignments["person_id"], *retired, *result.retired_ids}
    return max((p for p in ids if isinstance(p, str) and p.startswith("P")), default=None)


def _json(value: Any) -> str:
    """JSON for summaries, which hold numpy scalars."""
    return json.dumps(value, default=_plain)


async def learned_name_variants(store: GraphStore) -> tuple[tuple[str, str], ...]:
    """The forename variants the last run learned (Kasia/Katarzyna...), for search."""
    rows = await store.query("linkage_name_variants")
    raw = (rows[0]["name_variants"] if rows else None) or []
    pairs = (str(v).split("|", 1) for v in raw if "|" in str(v))
    return tuple(sorted((a, b) for a, b in pairs))


async def last_run(store: GraphStore) -> dict[str, Any] | None:
    """The last linkage run's id, time, summary and fitted model (None before any run)."""
    rows = await store.query("linkage_run_get")
    if not rows:
        return None
    row = rows[0]
    return {
        "run_id": row["run_id"],
        "at": row["at"],
        "spec_version": row["spec_version"],
        "summary": json.loads(row["summary"]) if row["summary"] else {},
        "model": json.loads(row["model"]) if row["model"] else None,
        "spec": json.loads(row["spec"]) if row.get("spec") else None,
    }


async def stored_spec(store: GraphStore) -> dict[str, Any] | None:
    """The spec document the last run stored (None before any run, or a run that predates
    storing it), read without the model beside it."""
    rows = await store.query("linkage_run_spec")
    text = rows[0]["spec"] if rows else None
    return json.loads(text) if text else None


async def run_spec(store: GraphStore) -> Spec | None:
    """The spec the last linkage run used (None before any run, or a run that predates
    storing it)."""
    raw = await stored_spec(store)
    return spec_from_dict(raw) if raw else None
