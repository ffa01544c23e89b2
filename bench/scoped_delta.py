"""The engine on a 1% delta: scoped clustering against clustering everything (issue #16).

Links a population's cached mentions and relationships in full (the model fitted once),
makes a delta (``--fraction`` of the mentions: half moved house, i.e. another mention's
postcode and address, half new copies of known mentions under new keys), then links it
three ways with the first run's model: incrementally with the first run's state (scoped
clustering), incrementally without its scope (everything clustered, as before), and in
full (every pair compared again). Prints each run's stage times, wall and CPU seconds of
this process (``--workers 1``: no forks, so the CPU is all here), the region re-clustered
and whether the results agree: persons, methods, probabilities, statuses, breakdowns and
the review queue (a resolution's partner key may differ among equal-weight ties).

Usage::

    .venv/bin/python bench/scoped_delta.py /tmp/acc-data/gen-10000-s61.pkl --json out.json

The cache is ``bench/linkage_accuracy.py``'s (a pickle of ``(mentions, relationships)``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import random
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cpgraph.linkage import LinkageEngine, load_spec


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _delta(m: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    out = m.copy()
    k = max(2, int(len(out) * fraction / 2))
    for i in rng.sample(range(len(out)), k):
        d = rng.randrange(len(out))
        out.loc[i, ["postcode", "address"]] = out.loc[d, ["postcode", "address"]].to_numpy()
        out.loc[i, "row_hash"] = f"{out.loc[i, 'row_hash']}+moved"
    new = out.loc[rng.sample(range(len(out)), k)].copy()
    new["key"] = new["key"] + "D"
    return pd.concat([out, new], ignore_index=True).sort_values("key", ignore_index=True)


def _agree(a, b) -> dict[str, int]:
    x, y = a.assignments, b.assignments
    out = {c: int((x[c] != y[c]).sum()) for c in ("person_id", "method", "status")}
    out["probability"] = int(
        (~np.isclose(x["probability"], y["probability"], equal_nan=True)).sum()
    )

    def bd(f):
        return f["breakdown"].map(lambda d: repr(sorted(d.items())) if d else "")

    out["breakdown"] = int((bd(x) != bd(y)).sum())

    def rv(f):
        return sorted(
            zip(f["key_a"], f["key_b"], f["probability"].round(9), f["reason"], strict=True)
        )

    out["review_same"] = int(rv(a.review) == rv(b.review))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cache", type=Path)
    ap.add_argument("--fraction", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    with args.cache.open("rb") as fh:
        m, r = pickle.load(fh)  # noqa: S301 — the accuracy bench's own cache
    rels = r[["from_key", "to_key", "relationship", "lives_with"]]
    eng = LinkageEngine(load_spec(), workers=args.workers)
    runs: dict[str, dict] = {}

    def timed(name: str, **kw):
        t, c = time.perf_counter(), _cpu()
        res = eng.link(kw.pop("mentions").copy(), rels, **kw)
        runs[name] = {
            "wall": round(time.perf_counter() - t, 2),
            "cpu": round(_cpu() - c, 2),
            "stages": {k: round(v, 2) for k, v in res.timings.items()},
            **{k: res.summary.get(k) for k in ("scoped", "region", "scope_fallback")},
            "scope_seconds": {
                k: round(v, 2) for k, v in res.timings.items() if k.startswith("scope_")
            },
        }
        print(name, json.dumps(runs[name]), flush=True)
        return res

    first = timed("first (full)", mentions=m)
    prev = dict(zip(first.assignments["key"], first.assignments["person_id"], strict=True))
    m2 = _delta(m, args.fraction, args.seed)
    kw = {"mentions": m2, "previous_ids": prev, "model": first.model}
    scoped = timed("incremental, scoped", state=first.state, **kw)
    plain = timed(
        "incremental, all clustered", state=dataclasses.replace(first.state, scope=None), **kw
    )
    full = timed("full, same model", full=True, **kw)
    agree = {
        "scoped vs all clustered": _agree(scoped, plain),
        "scoped vs full": _agree(scoped, full),
        "all clustered vs full": _agree(plain, full),
    }
    print(json.dumps(agree), flush=True)
    summary = {"mentions": len(m), "delta_mentions": len(m2), "runs": runs, "agree": agree}
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
