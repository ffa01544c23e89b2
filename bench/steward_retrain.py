"""Steward labels as training data: does `cpgraph link --retrain` improve linkage?

On a generated cross-agency population (with ground truth):

1. load and link (unsupervised, full) — baseline;
2. label the review queue with the truth, as a data steward would (``decideMatch``
   LINK when the two records are one person, NO_LINK otherwise), applied at once;
3. ``link --full`` — the decisions as constraints, model unchanged;
4. ``link --full --retrain`` — m re-estimated (u blended) from the labelled pairs;
5. optionally more rounds: label the new queue, retrain again.

Pairwise precision / recall / F1 against truth after each step, for all mentions and
for the mentions no decision touched (the fair test of a better model).

Usage::

    .venv/bin/python bench/steward_retrain.py --households 600 --seed 11 --error-rate 0.08
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cpgraph.config import Backend, Settings  # noqa: E402
from cpgraph.generate import generate  # noqa: E402
from cpgraph.ingest.engine import load_extracts  # noqa: E402
from cpgraph.linkage.evaluate import evaluate  # noqa: E402
from cpgraph.linkage.service import LinkageService  # noqa: E402
from cpgraph.security.roles import Role  # noqa: E402
from cpgraph.steward import Actor, StewardConflictError, StewardService  # noqa: E402
from cpgraph.steward.decisions import load_decisions  # noqa: E402
from cpgraph.steward.linking import linkage_service  # noqa: E402
from cpgraph.steward.queue import load_queue  # noqa: E402
from cpgraph.store import GraphStore, create_store  # noqa: E402

STEWARD = Actor("bench-steward", Role.DATA_STEWARD)


async def _measure(
    linkage: LinkageService, truth: pd.Series, hn: list, touched: set[str]
) -> dict[str, float]:
    links = (await linkage.assignments()).dropna(subset=["person_id"])
    pred = pd.Series(links["person_id"].to_numpy(), index=links["record_key"].to_numpy())
    full = evaluate(pred, truth, hn)
    rest = truth[~truth.index.isin(touched)]
    part = evaluate(pred, rest, None)
    return {
        "precision": round(full.precision, 5),
        "recall": round(full.recall, 5),
        "f1": round(full.f1, 5),
        "untouched_precision": round(part.precision, 5),
        "untouched_recall": round(part.recall, 5),
        "untouched_f1": round(part.f1, 5),
        "hard_negative_merges": full.hard_negative_merges,
        "persons": int(pred.nunique()),
    }


async def _label_queue(store: GraphStore, truth: dict[str, str]) -> tuple[int, int]:
    service = StewardService(store)
    links = nolinks = 0
    for item in await load_queue(store):
        same = truth.get(item.key_a) is not None and truth.get(item.key_a) == truth.get(item.key_b)
        try:
            await service.decide_match(
                STEWARD,
                item.candidate_id,
                "LINK" if same else "NO_LINK",
                "labelled from ground truth (bench)",
                expected_version=item.version,
            )
        except StewardConflictError:
            continue
        links += same
        nolinks += not same
    return links, nolinks


async def run(households: int, seed: int, error_rate: float, rounds: int, out: Path) -> dict:
    root = out / "population"
    generate(root, households=households, seed=seed, error_rate=error_rate)
    truth_frame = pd.read_csv(root / "truth.csv", dtype=str)
    truth = pd.Series(truth_frame["true_person_id"].to_numpy(), index=truth_frame["record_key"])
    hn_frame = pd.read_csv(root / "hard_negatives.csv", dtype=str)
    hn = list(hn_frame[["record_key_a", "record_key_b", "kind"]].itertuples(index=False, name=None))
    settings = Settings(backend=Backend.FALKORDB, data_dir=out / "data", falkordb_url=None)
    folders = sorted(p.parent for p in root.glob("*/manifest.json"))
    steps: list[dict] = []
    async with create_store(settings) as store:
        await store.bootstrap()
        await load_extracts(store, folders)
        linkage = linkage_service(store, settings)
        t0 = time.perf_counter()
        rep = await linkage.link(full=True)
        steps.append(
            {
                "step": "baseline (unsupervised, full)",
                "review_queue": rep.review_queue,
                "link_s": round(time.perf_counter() - t0, 2),
                **await _measure(linkage, truth, hn, set()),
            }
        )
        for r in range(1, rounds + 1):
            links, nolinks = await _label_queue(store, truth.to_dict())
            touched = {k for d in await load_decisions(store) for k in d.record_keys}
            steps.append(
                {
                    "step": f"round {r}: queue labelled ({links} LINK, {nolinks} NO_LINK)",
                    **await _measure(linkage, truth, hn, touched),
                }
            )
            t0 = time.perf_counter()
            rep = await linkage.link(full=True)
            steps.append(
                {
                    "step": f"round {r}: link --full (decisions as constraints)",
                    "review_queue": rep.review_queue,
                    "link_s": round(time.perf_counter() - t0, 2),
                    **await _measure(linkage, truth, hn, touched),
                }
            )
            t0 = time.perf_counter()
            rep = await linkage.link(full=True, retrain=True)
            steps.append(
                {
                    "step": f"round {r}: link --full --retrain",
                    "review_queue": rep.review_queue,
                    "link_s": round(time.perf_counter() - t0, 2),
                    **await _measure(linkage, truth, hn, touched),
                }
            )
    return {
        "households": households,
        "seed": seed,
        "error_rate": error_rate,
        "mentions": int(len(truth)),
        "steps": steps,
    }


def main() -> None:
    """Parse arguments, run, print a table and the JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=600)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--error-rate", type=float, default=0.08)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="work folder (default: a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        res = asyncio.run(run(args.households, args.seed, args.error_rate, args.rounds, out))
    cols = [
        "precision",
        "recall",
        "f1",
        "untouched_precision",
        "untouched_recall",
        "hard_negative_merges",
        "review_queue",
    ]
    print(
        f"{res['mentions']} mentions, {args.households} households, seed {args.seed}, "
        f"error rate {args.error_rate}"
    )
    print(f"{'step':58s} " + " ".join(f"{c[:12]:>12s}" for c in cols))
    for s in res["steps"]:
        print(f"{s['step']:58s} " + " ".join(f"{s.get(c, ''):>12}" for c in cols))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
