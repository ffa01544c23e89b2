"""Reading back what loads left behind: quarantined rows and load records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cpgraph.ingest.owner import effective_status
from cpgraph.store import GraphStore


@dataclass(frozen=True, slots=True)
class QuarantinedRow:
    """One row (or FHIR entry / bundle) a load could not take.

    Attributes:
        system: source system of the extract.
        file: file relative to the extract folder (``nominals.csv``,
            ``bundles/bundle-00001.json``).
        line: CSV: 1-based physical line where the row starts (header = 1);
            FHIR: entry index (1-based), 0 for the whole bundle file.
        raw: the row exactly as read (personal data: show only to stewards).
        reason: ``truncated_row`` (the file ends inside the row, or a bundle's
            JSON breaks off), ``duplicate_key`` (its row key is on another row of
            the same file), ``missing_required``, ``bad_date``, ``bad_datetime``,
            ``unknown_reference``, ``too_many_fields``, ``not_json``,
            ``not_bundle``, ``too_deeply_nested``, ``invalid_resource`` or
            ``too_long`` (a value longer than its column's limit,
            ``cpgraph.contract.spec.FIELD_LIMITS``). A later load of the same file
            removes the rows it supersedes (``cpgraph.ingest.supersede``).
        column: the column (or FHIR resource type) concerned, if any.
        load_id: the load that quarantined it.
    """

    system: str
    file: str
    line: int
    raw: str
    reason: str
    column: str | None
    load_id: str


async def list_quarantine(
    store: GraphStore,
    system: str | None = None,
    limit: int = 100,
    *,
    load_id: str | None = None,
) -> list[QuarantinedRow]:
    """Return quarantined rows, ordered by system, load, file and line.

    Args:
        store: a started store.
        system: only this source system (default: all).
        limit: at most this many rows.
        load_id: only rows of this load (default: all loads).
    """
    rows = await store.query(
        "ingest_quarantine_list", system=system, load_id=load_id, limit=int(limit)
    )
    return [
        QuarantinedRow(
            system=r["system"],
            file=r["file"],
            line=int(r["line"]),
            raw=r["raw"] or "",
            reason=r["reason"],
            column=r.get("column"),
            load_id=r["load_id"],
        )
        for r in rows
    ]


async def list_loads(
    store: GraphStore, system: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Return recorded loads, newest extract first, with per-file counts decoded.

    A load still marked ``running`` whose process is gone (killed outright, so it
    could not record its end) has the status ``interrupted``: run it again to resume.
    """
    rows = await store.query("ingest_loads_list", system=system, limit=int(limit))
    for row in rows:
        row["files"] = json.loads(row["files"]) if row.get("files") else []
        row["status"] = effective_status(row.get("status"), row.pop("owner", None))
    return rows


async def record_versions(store: GraphStore, key: str) -> list[dict[str, Any]]:
    """Return the previous versions of a mention (properties before each change), newest first.

    Each item: ``props`` (the mention's properties before the change),
    ``superseded_by`` (the load that changed it) and ``superseded_at``.
    """
    return await store.query("ingest_record_versions", key=key)
