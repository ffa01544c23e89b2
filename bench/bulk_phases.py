"""The bulk load's loader work, phase by phase, in one process (no store, no subprocess).

Usage:
    .venv/bin/python bench/bulk_phases.py POPULATION [--fhir-workers 0]

POPULATION is a folder of extracts (``cpgraph generate --out POPULATION ...``, e.g. the
``pop-100k`` folder ``bench/bulk_load.py`` generates). Prints the CPU seconds
(``time.process_time``, this process only) of: checking every extract, each extract's
producer (reading, checking, normalising; with ``--fhir-workers 0`` the FHIR validation
too) and collector (the ingest queries applied to the in-memory graph), building the node
and edge tables, and encoding every ``GRAPH.BULK`` token. On a shared machine these are
steadier than the end-to-end figures of ``bench/bulk_load.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from pathlib import Path

from cpgraph.ingest import supersede
from cpgraph.ingest.bulk import BulkCollector
from cpgraph.ingest.engine import Producer, prepare_extract
from cpgraph.ingest.report import LoadReport
from cpgraph.store import falkordb_bulk
from cpgraph.store.registry import QueryRegistry
from cpgraph.store.schema import Label


def main() -> None:
    """Run every phase once and print its CPU seconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("population", type=Path)
    parser.add_argument("--fhir-workers", type=int, default=0)
    args = parser.parse_args()
    folders = sorted(p for p in args.population.iterdir() if (p / "manifest.json").is_file())
    gc.disable()  # as the bulk load does
    clock = time.process_time
    began = clock()
    plans = [prepare_extract(f) for f in folders]
    plans.sort(key=lambda p: (p.extracted_at, p.system))
    print(f"check every extract      {clock() - began:6.2f} s")
    collector = BulkCollector(QueryRegistry("falkordb"), 5000)
    for plan in plans:
        report = LoadReport(
            plan.load_id, plan.system, plan.agency, plan.organisation, plan.extracted_at,
            str(plan.folder),
        )  # fmt: skip
        workers = args.fhir_workers if plan.mapping.format == "fhir" else None
        producer = Producer(plan, report, 5000, fhir_workers=workers)
        producer.supersession = asyncio.run(
            supersede.begin(collector, plan.load_id, plan.system, plan.extracted_at)
        )
        produce = collect = 0.0
        batches = producer.batches()
        while True:
            start = clock()
            item = next(batches, None)
            produce += clock() - start
            if item is None:
                break
            start = clock()
            name, rows = item
            collector._writes[name]({"rows": rows})  # noqa: SLF001 — the collector's write
            collect += clock() - start
        print(
            f"{plan.system:24s} producer {produce:6.2f} s  collector {collect:5.2f} s  "
            f"({report.mentions:,} mentions)"
        )
    start = clock()
    graph = collector.graph()
    print(f"node and edge tables     {clock() - start:6.2f} s")
    start = clock()
    positions: dict[Label, list[int]] = {}
    size = sum(len(t) for t, _ in falkordb_bulk.node_tokens(graph, positions))
    size += sum(len(t) for t, _ in falkordb_bulk.edge_tokens(graph, positions))
    print(f"GRAPH.BULK tokens        {clock() - start:6.2f} s  ({size / 2**20:,.0f} MB)")
    print(f"total                    {clock() - began:6.2f} s")


if __name__ == "__main__":
    main()
