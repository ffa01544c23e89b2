"""FHIR bundle scanning CPU per resource: fhir_core's own checks against the per-class ones.

Usage:
    .venv/bin/python bench/fhir_validation.py EXTRACT [--bundles 40] [--rounds 4]

EXTRACT is a FHIR extract folder (e.g. ``pop-100k/uhb-fhir`` from
``bench/bulk_load.py``). Scans the first ``--bundles`` bundle files with
:func:`cpgraph.ingest.fhir.scan_bundle` (parse, validate every resource with its
``fhir.resources`` model, flatten) in this process, alternating ``fhir_core``'s own
``reject_null_complex_elements`` / ``validate_after_model_construction`` with
:mod:`cpgraph.contract.fhir_models`' per-class forms, ``--rounds`` times each, and
prints the CPU seconds (``time.process_time``) of each round, the best per resource,
and whether both gave the same scans.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

from cpgraph.contract import fhir_models
from cpgraph.ingest import fhir
from cpgraph.ingest.engine import fhir_passes, prepare_extract


def main() -> None:
    """Time both forms and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extract", type=Path)
    parser.add_argument("--bundles", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    plan = prepare_extract(args.extract)
    passes = fhir_passes(plan.mapping)
    files = [str(p) for p in plan.bundles[: args.bundles]]
    resources = sum(len(json.loads(Path(p).read_bytes()).get("entry") or []) for p in files)

    def run() -> tuple[float, list[bytes]]:
        start = time.process_time()
        scans = [pickle.dumps(fhir.scan_bundle(p, passes)) for p in files]
        return time.process_time() - start, scans

    seconds: dict[str, list[float]] = {"fhir_core's own": [], "per class": []}
    same = True
    for _ in range(args.rounds):
        fhir_models._restore()  # noqa: SLF001
        own, expected = run()
        fhir_models.speed_up_checks()
        fast, got = run()
        same = same and got == expected
        seconds["fhir_core's own"].append(own)
        seconds["per class"].append(fast)
    print(f"{len(files)} bundle files, {resources:,} resources, same scans both ways: {same}")
    for name, values in seconds.items():
        rounds = " ".join(f"{v:.2f}" for v in values)
        best = min(values) / resources * 1e6
        print(f"{name:16s} {rounds} s   best {best:.0f} µs per resource")


if __name__ == "__main__":
    main()
