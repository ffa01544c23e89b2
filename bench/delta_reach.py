"""How far a delta can reach through what clustering reads (issue #16 item 2).

Given the link state before a delta and a store linked incrementally after it (e.g.
``bench/link_delta.py``'s ``--linked`` store and its ``<work>/inc``), counts the mentions
connected to a new or changed one over growing sets of relations: the persons touched (old
and new), their stated relationships (households), review-level edges, shared postcodes (the
candidates of household pairs) and every cannot-link. Re-clustering only the touched part
is worth doing only if the first sets stay small and the last ones can be argued away.

Usage::

    .venv/bin/python bench/delta_reach.py --before /tmp/inc/base --after /tmp/inc/delta/inc

The ``--after`` store is copied before it is started (nothing is written to either).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from cpgraph.config import Backend, Settings
from cpgraph.linkage.clustering import connected_components
from cpgraph.linkage.service import LinkageService
from cpgraph.linkage.spec import load_spec
from cpgraph.linkage.statefile import load_state
from cpgraph.store import create_store

STATE = "linkage/falkordb-cpgraph-state.npz"


async def _read(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    settings = Settings(backend=Backend.FALKORDB, data_dir=data_dir, falkordb_url=None)
    store = create_store(settings)
    await store.start()
    try:
        service = LinkageService(store, settings)
        data = await service.read()
        return data.mentions, data.relationships, await service.assignments()
    finally:
        await store.close()


def _same_value_pairs(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs chaining the positions that share a code (``-1``: none)."""
    order = np.argsort(codes, kind="stable")
    c = codes[order]
    same = (c[1:] == c[:-1]) & (c[1:] >= 0)
    return order[:-1][same], order[1:][same]


def reach(before: Path, after: Path) -> dict:
    """The counts (see the module docstring)."""
    spec = load_spec()
    old = load_state(before / STATE, spec.version)
    new = load_state(after / STATE, spec.version)
    if old is None or new is None:
        raise SystemExit("both stores need a link state of the packaged spec")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "store"
        shutil.copytree(after, copy, symlinks=True)
        (copy / "cpgraph.lock").unlink(missing_ok=True)
        mentions, rels, assigned = asyncio.run(_read(copy))
    keys = new.fingerprints.index.to_numpy(object)
    n = len(keys)
    pos = pd.Series(np.arange(n), index=keys)
    was = old.fingerprints.reindex(keys)
    changed = (was.isna() | (was.to_numpy() != new.fingerprints.to_numpy())).to_numpy()

    def ends(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        i, j = pos.reindex(a).to_numpy(), pos.reindex(b).to_numpy()
        ok = ~(np.isnan(i) | np.isnan(j))
        return i[ok].astype(np.int64), j[ok].astype(np.int64)

    e = new.edges
    cannot = e["cannot"].to_numpy(bool)
    auto = ~cannot & (e["probability"].to_numpy() >= spec.auto)
    person_now = assigned.set_index("record_key")["person_id"].reindex(keys)
    # (persons after the delta only: the old state does not keep who resolved to whom)
    parts = {
        "persons touched": _same_value_pairs(pd.factorize(person_now)[0]),
        "auto links": ends(e["key_a"][auto], e["key_b"][auto]),
        "stated relationships": ends(rels["from_key"], rels["to_key"]),
        "review-level edges": ends(e["key_a"][~auto & ~cannot], e["key_b"][~auto & ~cannot]),
        "shared postcodes": _same_value_pairs(
            pd.factorize(mentions.set_index("key")["postcode"].reindex(keys))[0]
        ),
        "cannot-links": (
            np.concatenate([ends(e["key_a"][cannot], e["key_b"][cannot])[0],
                            new.cannot["a"].to_numpy(np.int64)]),
            np.concatenate([ends(e["key_a"][cannot], e["key_b"][cannot])[1],
                            new.cannot["b"].to_numpy(np.int64)]),
        ) if new.cannot is not None else ends(e["key_a"][cannot], e["key_b"][cannot]),
    }  # fmt: skip
    out = {"mentions": n, "changed": int(changed.sum()), "reach": []}
    names = list(parts)
    for k in range(1, len(names) + 1):
        ii = np.concatenate([parts[x][0] for x in names[:k]])
        jj = np.concatenate([parts[x][1] for x in names[:k]])
        labels = connected_components(n, ii, jj)
        hit = np.isin(labels, np.unique(labels[changed]))
        out["reach"].append({"over": names[:k], "mentions": int(hit.sum())})
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the counts as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True, help="the store linked before")
    ap.add_argument("--after", type=Path, required=True, help="the store linked after")
    args = ap.parse_args(argv)
    out = reach(args.before, args.after)
    for r in out["reach"]:
        share = 100 * r["mentions"] / out["mentions"]
        print(f"{r['mentions']:>9,} ({share:4.1f}%) over {' + '.join(r['over'])}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
