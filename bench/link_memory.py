"""Memory of ``LinkageEngine.link`` by stage, and an outcome hash to compare code versions.

Runs the engine in this process on pickled mentions (``bench/data/*.pkl``, as
``bench/linkage_speed.py`` caches them, or a pickle of ``LinkageService.read()``'s
``(mentions, relationships)``) while a thread samples, every 0.2 s, the PSS of this
process and its forks summed (shared pages counted once) and this process's RSS; each
sample is filed under the stage running at that moment (the engine's stage methods are
wrapped to mark it). ``after_X`` is the time between stage X and the next one.

The outcome hash covers everything a run decides: the assignments (key, person id,
method, probability, status, partner, breakdown) and the review queue (pairs,
probabilities, weights, breakdowns, reasons, evidence), as text. Equal hashes from two
code versions on the same mentions mean identical results.

Usage::

    .venv/bin/python bench/link_memory.py bench/data/gen-20000-s41.pkl
    .venv/bin/python bench/link_memory.py /tmp/m1m.pkl --frac 0.4   # a seeded 40% subset
    .venv/bin/python bench/link_memory.py /tmp/m1m.pkl --share       # strings as read() has them
    .venv/bin/python bench/link_memory.py /tmp/m1m.pkl --memory-mb 3000   # the command's budget
    .venv/bin/python bench/link_memory.py /tmp/m1m.pkl --memory-mb 3000 --handover  # as the service

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import pickle
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
from link_command import pss_bytes  # the same PSS reading as the command bench

STAGES = [
    ("_prepare_stage", "prepare"),
    ("_score_stage", "score"),
    ("_steward_stage", "steward"),
    ("_cluster_stage", "cluster"),
    ("_cohesion_stage", "cohesion"),
]
# the assign stage is everything after cohesion; these mark its parts
PARTS = [("_assignments", "assign"), ("_review", "review"), ("_edges_to_frame", "state")]


def outcome_hash(assignments: pd.DataFrame, review: pd.DataFrame) -> str:
    """A hash of every value of the assignments and the review queue."""
    a = assignments.copy()
    r = review.copy()
    a["breakdown"] = [json.dumps(x, sort_keys=True) for x in a["breakdown"]]
    r["breakdown"] = [json.dumps(x, sort_keys=True) for x in r["breakdown"]]
    if "evidence" in r.columns:
        r["evidence"] = [json.dumps(x) for x in r["evidence"]]
    h = hashlib.sha256()
    for df in (a, r):
        h.update(pd.util.hash_pandas_object(df.astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


def state_hash(state: Any) -> dict[str, str]:
    """Hashes of what a run leaves for the next: its kept edges, cannot-links and
    fingerprints (``pd.util.hash_pandas_object`` of each, values and order)."""
    out = {}
    for name in ("edges", "cannot", "fingerprints"):
        x = getattr(state, name, None)
        if x is None:
            continue
        h = pd.util.hash_pandas_object(x, index=name == "fingerprints").to_numpy()
        out[name] = hashlib.sha256(h.tobytes()).hexdigest()[:16]
    return out


def load(pkl: Path, frac: float, share: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pickled mentions and relationships (a seeded subset with ``frac``)."""
    with pkl.open("rb") as fh:
        mentions, rels = pickle.load(fh)  # noqa: S301 — our own cache
    if frac:
        keep = np.random.default_rng(5).random(len(mentions)) < frac
        mentions = mentions[keep].reset_index(drop=True)
        keys = set(mentions["key"].tolist())
        inside = rels["from_key"].isin(keys) & rels["to_key"].isin(keys)
        rels = rels[inside].reset_index(drop=True)
    if share:
        from cpgraph.linkage.service import _SharedValues

        cols = list(mentions.columns)
        shared = _SharedValues(tuple(cols), unique=("key", "row_hash"))
        rows = shared([list(r) for r in mentions.itertuples(index=False, name=None)])
        mentions = pd.DataFrame(rows, columns=cols)
        del rows
    gc.collect()
    return mentions, rels[["from_key", "to_key", "relationship", "lives_with"]]


def _count(frame: pd.DataFrame | None) -> int:
    return 0 if frame is None else len(frame)


def main(argv: list[str] | None = None) -> int:
    """Run the bench (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pickle", type=Path)
    ap.add_argument("--frac", type=float, default=0.0, help="a seeded random subset")
    ap.add_argument("--share", action="store_true", help="share strings as read() does")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--memory-mb", type=int, default=0, help="engine budget (0: none; the command's: 3000)"
    )
    ap.add_argument(
        "--handover",
        action="store_true",
        help="keep only the write stage's columns and hand the frame to the engine (as the "
        "service does)",
    )
    args = ap.parse_args(argv)
    mentions, rels = load(args.pickle, args.frac, args.share)
    n_mentions = len(mentions)

    import cpgraph.linkage.engine as engine_mod

    me = psutil.Process()
    stage = ["load"]
    peaks: dict[str, list[int]] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                procs = [me, *me.children(recursive=True)]
                pss, rss = sum(pss_bytes(p.pid) for p in procs), me.memory_info().rss
            except psutil.Error:
                continue
            pk = peaks.setdefault(stage[0], [0, 0])
            pk[0], pk[1] = max(pk[0], pss), max(pk[1], rss)
            stop.wait(0.2)

    def mark(name: str, label: str, after: bool) -> None:
        f = getattr(engine_mod.LinkageEngine, name)

        def wrapped(self: Any, *a: Any, **kw: Any) -> Any:
            stage[0] = label
            out = f(self, *a, **kw)
            if after:
                stage[0] = "after_" + label
            return out

        setattr(engine_mod.LinkageEngine, name, wrapped)

    for name, label in STAGES:
        mark(name, label, True)
    for name, label in PARTS:
        mark(name, label, False)
    threading.Thread(target=sample, daemon=True).start()
    base = me.memory_info().rss
    t = time.perf_counter()
    engine = engine_mod.LinkageEngine(workers=args.workers, memory_mb=args.memory_mb)
    if args.handover:
        from cpgraph.linkage.service import write_columns

        box = [mentions]
        mentions = write_columns(mentions)  # what the service keeps for its write stage
        res = engine.link(box.pop(), rels)
    else:
        res = engine.link(mentions, rels)
    wall = time.perf_counter() - t
    stage[0] = "done"
    time.sleep(0.3)
    stop.set()
    out = {
        "mentions": n_mentions,
        "handover": args.handover,
        "wall_s": round(wall, 1),
        "stages_s": {k: round(v, 1) for k, v in res.timings.items()},
        "rss_before_mb": base >> 20,
        "peak_pss_mb": {k: v[0] >> 20 for k, v in peaks.items()},
        "peak_rss_mb": {k: v[1] >> 20 for k, v in peaks.items()},
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10,
        "kept_edges": len(res.state.edges),
        # (None before cannot-links were kept apart: they are among the kept edges)
        "cannot_links": _count(getattr(res.state, "cannot", None)),
        "summary": {
            k: res.summary[k] for k in ("persons", "compared_pairs", "auto_links", "review_queue")
        },
        "hash": outcome_hash(res.assignments, res.review),
        "state_hash": state_hash(res.state),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
