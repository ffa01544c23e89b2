"""A reload supersedes what it replaces: the latest load of a file is the truth for its rows.

Two cases, both applied only when a load completes:

- **The same extract again** (same ``load_id``: a fixed copy of a truncated or
  broken file, re-run): the quarantine rows of the earlier run that this run did
  not write again are removed (their rows now load, or are gone); an address edge
  of a mention or event that only this extract ever stated, and that the row no
  longer states, is removed; an address no edge reaches any more is removed.
- **A newer extract of the system**: a quarantine row of an older extract is
  removed once this load reads a row of the same file (FHIR: resource type) with
  the same row key (`cpgraph.ingest.mapping.row_key_template`) — it was fixed,
  or quarantined again under this load. Older rows with no key (the id itself
  was missing) stay for a steward. Address edges seen in an older extract are
  history (where someone used to live) and are never removed.

The engine calls :func:`begin` before the load, feeds the :class:`Supersession`
while it reads rows, and calls :func:`finish` after the last batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from cpgraph.store import GraphStore

#: Keys or rows per write of the supersede queries.
_CHUNK = 2_000


@dataclass(slots=True)
class Supersession:
    """What one load replaces, gathered while it runs.

    Attributes:
        load_id / system / extracted_at: the load.
        rerun: a load of this same extract ran before (this one replaces it).
        candidates: ``(entry, row key)`` → quarantine keys of older extracts of the
            system that a row with that key supersedes.
        quarantined: quarantine key → ``(entry, row key)`` for every row this run
            quarantined (the key is stored on the row, for later loads to match).
        superseded: quarantine keys of older extracts this run superseded.
        addresses / event_addresses: on a re-run, each mention's / event's address
            key as this run states it (None: no address).
    """

    load_id: str
    system: str
    extracted_at: str
    rerun: bool = False
    candidates: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    quarantined: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    superseded: set[str] = field(default_factory=set)
    addresses: dict[str, str | None] = field(default_factory=dict)
    event_addresses: dict[str, str | None] = field(default_factory=dict)
    _entries: frozenset[str] = frozenset()

    def wants(self, entry: str) -> bool:
        """True when rows of ``entry`` may supersede older quarantine rows (keys needed)."""
        return entry in self._entries

    def saw(self, entry: str, row_key: str | None) -> None:
        """A row of ``entry`` with ``row_key`` was read (loaded or quarantined)."""
        if row_key is not None:
            older = self.candidates.get((entry, row_key))
            if older:
                self.superseded.update(older)

    def quarantine(self, key: str, entry: str, row_key: str | None) -> None:
        """This run quarantined the row ``key`` (of ``entry``, with ``row_key``)."""
        self.quarantined[key] = (entry, row_key)
        self.saw(entry, row_key)

    def mention_address(self, record_key: str, address_key: str | None) -> None:
        """A mention was written with this address (tracked on re-runs only)."""
        if self.rerun:
            self.addresses[record_key] = address_key

    def event_address(self, event_id: str, address_key: str | None) -> None:
        """An event was written with this address (tracked on re-runs only)."""
        if self.rerun:
            self.event_addresses[event_id] = address_key


def _extracted_at(load_id: str) -> str:
    return load_id.rpartition("@")[2]


async def begin(store: GraphStore, load_id: str, system: str, extracted_at: str) -> Supersession:
    """Look up what a load of this extract may supersede (reads only)."""
    found = await store.query("ingest_load_runs", load_id=load_id)
    # called after `ingest_load_start` has counted this run: a re-run has runs >= 2
    runs = int((found[0]["runs"] if found else 0) or 0)
    session = Supersession(
        load_id=load_id, system=system, extracted_at=extracted_at, rerun=runs > 1
    )
    rows = await store.query("ingest_quarantine_of_system", system=system)
    for row in rows:
        older = row["load_id"]
        if older == load_id or row.get("row_key") is None or row.get("entry") is None:
            continue
        if _extracted_at(older) <= extracted_at:
            session.candidates.setdefault((row["entry"], row["row_key"]), []).append(row["key"])
    session._entries = frozenset(entry for entry, _ in session.candidates)
    return session


def _chunks(items: Iterable[Any]) -> Iterable[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, _CHUNK)):
        yield chunk


async def finish(store: GraphStore, session: Supersession) -> dict[str, int]:
    """Apply what the completed load superseded.

    Returns:
        Counts of what was removed: ``quarantine``, ``address_edges``, ``addresses``.
    """
    removed = {"quarantine": 0, "address_edges": 0, "addresses": 0}
    for chunk in _chunks([k, e, rk] for k, (e, rk) in session.quarantined.items()):
        await store.execute("ingest_quarantine_row_keys", rows=chunk)
    stale = set(session.superseded)
    if session.rerun:
        rows = await store.query("ingest_quarantine_of_load", load_id=session.load_id)
        stale.update(r["key"] for r in rows if r["key"] not in session.quarantined)
    stale.difference_update(session.quarantined)
    for chunk in _chunks(sorted(stale)):
        await store.execute("ingest_quarantine_delete", keys=chunk)
    removed["quarantine"] = len(stale)
    if not session.rerun:
        return removed
    touched: set[str] = set()
    for chunk in _chunks([k, a] for k, a in session.addresses.items()):
        found = await store.query(
            "ingest_record_addresses_prune", rows=chunk, seen=session.extracted_at
        )
        removed["address_edges"] += sum(int(r["edges"]) for r in found)
        touched.update(r["key"] for r in found)
    for chunk in _chunks([k, a] for k, a in session.event_addresses.items()):
        found = await store.query("ingest_event_addresses_prune", rows=chunk)
        removed["address_edges"] += sum(int(r["edges"]) for r in found)
        touched.update(r["key"] for r in found)
    for chunk in _chunks(sorted(touched)):
        rows = await store.query("ingest_addresses_orphans_delete", keys=chunk)
        removed["addresses"] += sum(int(r["deleted"]) for r in rows)
    return removed


__all__ = ["Supersession", "begin", "finish"]
