"""Within-system duplicates bench (issue #19): recall over pairs of one master index.

For each generated profile, links the mentions as the store returns them (the loader and
cache of ``linkage_accuracy.py``) and reports, besides pairwise P/R/F1 and look-alike
merges (``hard_negative_merges``):

* within-system recall: true pairs whose two records lie in one system's own master
  index (nominals of one force, patients of one trust, pupils, prisoners, a council's
  persons) that end in one person;
* visible within-system recall: those, plus the pairs whose two persons have a pair in
  the review queue (a steward sees them as possible matches);
* false within-system pairs (two people of one index in one person), the review queue
  (and how many of its items are spec v14's ``within_index_review`` band) and the
  compared pairs.

Usage::

    .venv/bin/python bench/within_system.py --households 20000 --seed 41 \
        --profiles messy_dates alias_heavy [--spec FILE] [--data-dir DIR] [--lookalikes]

``--lookalikes`` lists each look-alike merge (a ``hard_negatives.csv`` pair of two
people in one person): its kind, both records (name, birth date, sex, postcode, address,
index) and, per record, the link that holds it in its person (method, probability,
partner record and the partner's name) -- where to start tracing it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from cpgraph.linkage import LinkageEngine, load_spec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import linkage_accuracy as la  # noqa: E402 (the accuracy bench's loader and cache)

MASTER_KINDS = ("nominal", "patient", "pupil", "prisoner", "person")
PROFILES = (
    "messy_dates",
    "alias_heavy",
    "lookalikes",
    "migrated_systems",
    "stale_addresses",
    "default",
)


def within_system(
    pred: pd.Series, truth: pd.Series, mentions: pd.DataFrame, review: pd.DataFrame
) -> dict[str, float | int]:
    """Within-system true pairs found, seen (found or queued) and false pairs made.

    Args:
        pred: key → person id.
        truth: key → true person id.
        mentions: the linked mentions (``key``, ``system``, ``kind``).
        review: the run's review queue (``key_a``, ``key_b``).
    """
    src = (mentions["system"].astype(str) + "/" + mentions["kind"].astype(str)).set_axis(
        mentions["key"]
    )
    df = pd.DataFrame({"t": truth, "src": src.reindex(truth.index)})
    df["p"] = pred.reindex(df.index)
    df = df[df["src"].str.split("/").str[1].isin(MASTER_KINDS)]
    queued = set()
    for a, b in zip(review["key_a"], review["key_b"], strict=True):
        queued |= {(pred[a], pred[b]), (pred[b], pred[a])}
    total = found = seen = 0
    for _, g in df.groupby(["t", "src"]):
        ps = g["p"].tolist()
        for x in range(len(ps)):
            for y in range(x + 1, len(ps)):
                total += 1
                if ps[x] == ps[y]:
                    found += 1
                elif (ps[x], ps[y]) in queued:
                    seen += 1
    false = 0
    for _, g in df.groupby(["p", "src"]):
        vc = g["t"].value_counts()
        n = len(g)
        false += n * (n - 1) // 2 - int((vc * (vc - 1) // 2).sum())
    return {
        "pairs": total,
        "found": found,
        "recall": found / total if total else 1.0,
        "visible_recall": (found + seen) / total if total else 1.0,
        "false_pairs": false,
    }


def lookalike_merges(
    pred: pd.Series, folder: Path, mentions: pd.DataFrame, assignments: pd.DataFrame
) -> list[str]:
    """One block of lines per look-alike merge: the pair, its records, their links."""
    hn = pd.read_csv(folder / "hard_negatives.csv")
    pa = pred.reindex(hn["record_key_a"]).to_numpy()
    pb = pred.reindex(hn["record_key_b"]).to_numpy()
    merged = hn[(pa == pb) & pd.notna(pa)]
    m = mentions.set_index("key")
    a = assignments.set_index("key")

    def show(key: object) -> str:
        if key not in m.index:
            return str(key)
        r = m.loc[key]
        name = " ".join(str(x) for x in (r["forename"], r["middle_names"], r["surname"]) if x)
        return (
            f"{key} [{name}] dob={r['dob']} sex={r['sex']} pc={r['postcode']} addr={r['address']!r}"
        )

    out = []
    for ka, kb, kind in merged.itertuples(index=False, name=None):
        out.append(f"  look-alike {kind}: person {pred[ka]}")
        for k in (ka, kb):
            out.append(f"    {show(k)}")
            if k in a.index:
                r = a.loc[k]
                out.append(
                    f"      held by {r['method']} p={r['probability']:.4f} "
                    f"partner {show(r['partner_key'])}"
                )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=41)
    ap.add_argument("--profiles", nargs="+", default=list(PROFILES))
    ap.add_argument("--spec", type=Path, default=None, help="spec file (default: shipped)")
    ap.add_argument("--data-dir", type=Path, default=None, help="generated data cache")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--lookalikes", action="store_true", help="list each look-alike merge and its links"
    )
    args = ap.parse_args()
    if args.data_dir is not None:
        la.BENCH_DATA = args.data_dir
    spec = load_spec(args.spec) if args.spec else load_spec()
    for profile in args.profiles:
        folder = la.ensure_generated(args.households, args.seed, profile)
        mentions, rels = la.load_generated(folder)
        eng = LinkageEngine(spec, workers=args.workers)
        t = time.perf_counter()
        res = eng.link(mentions, rels[["from_key", "to_key", "relationship", "lives_with"]])
        took = time.perf_counter() - t
        pred = res.assignments.set_index("key")["person_id"]
        ev = la.evaluate_generated(pred, folder, mentions)
        truth = pd.read_csv(folder / "truth.csv").set_index("record_key")["true_person_id"]
        ws = within_system(pred, truth, mentions, res.review)
        # spec v14: suspected duplicates queued below `review` (the within-index band)
        band = int((res.review["reason"] == "within_index_review").sum())
        print(
            f"{profile} {args.households}/s{args.seed} spec v{spec.version}: "
            f"P {ev['precision']:.4f} R {ev['recall']:.4f} F1 {ev['f1']:.4f} "
            f"false pairs {ev['predicted_pairs'] - ev['true_positive_pairs']} "
            f"look-alikes {ev.get('hard_negative_merges')} | within-system R "
            f"{ws['found']}/{ws['pairs']} = {ws['recall']:.4f}, visible "
            f"{ws['visible_recall']:.4f}, false within-index pairs {ws['false_pairs']} | "
            f"review queue {len(res.review)} ({band} within_index_review), "
            f"compared {res.summary['compared_pairs']} "
            f"({took:.0f} s)",
            flush=True,
        )
        if args.lookalikes:
            print("\n".join(lookalike_merges(pred, folder, mentions, res.assignments)), flush=True)


if __name__ == "__main__":
    main()
