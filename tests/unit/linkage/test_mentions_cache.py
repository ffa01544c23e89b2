"""The mentions cache an incremental run reads unchanged mentions from (`statefile`)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cpgraph.linkage import service, statefile
from cpgraph.linkage.service import (
    CACHED_COLUMNS,
    changed_persons,
    resolution_digests,
    stored_breakdown,
)
from cpgraph.linkage.statefile import load_mentions, save_mentions


def _frame() -> pd.DataFrame:
    rows = []
    for n in range(6):
        row = {c: None for c in CACHED_COLUMNS}
        row.update(
            key=f"s:p:{n}",
            system="s",
            surname_m="smith" if n % 2 else "jones",
            aliases_m=["smyth", "smithe"] if n == 1 else [],
            dob=None if n == 3 else f"2010-01-0{n + 1}",
            nhs_number_valid=None if n == 2 else bool(n % 2),
            row_hash=f"h{n}",
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(CACHED_COLUMNS))


def test_mentions_round_trip_exactly_with_shared_strings(tmp_path: Path) -> None:
    frame = _frame()
    path = tmp_path / "linkage" / "m.parquet"
    assert save_mentions(path, frame)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    got = load_mentions(path, CACHED_COLUMNS)
    assert got is not None
    for name in CACHED_COLUMNS:
        assert got[name].tolist() == frame[name].tolist(), name
    # equal strings of a column are one object (memory at a million mentions)
    smiths = [v for v in got["surname_m"] if v == "smith"]
    assert len(smiths) == 3 and all(v is smiths[0] for v in smiths)
    assert got["aliases_m"][1] == ["smyth", "smithe"] and got["aliases_m"][0] == []
    assert got["nhs_number_valid"][2] is None and got["nhs_number_valid"][1] is True


def test_distinct_columns_read_a_slice_at_a_time_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # keys and row hashes are converted in slices (no dictionary of a million values):
    # slices of 4 over 6 rows cross a boundary; a missing hash stays None
    monkeypatch.setattr(statefile, "_SLICE", 4)
    frame = _frame()
    frame.loc[4, "row_hash"] = None
    path = tmp_path / "m.parquet"
    assert save_mentions(path, frame)
    got = load_mentions(path, CACHED_COLUMNS, only=("key", "row_hash", "surname_m"))
    assert got is not None
    assert got["key"].dtype == object and got["key"].tolist() == frame["key"].tolist()
    assert got["row_hash"].tolist() == ["h0", "h1", "h2", "h3", None, "h5"]
    # other columns still share equal strings
    smiths = [v for v in got["surname_m"] if v == "smith"]
    assert len(smiths) == 3 and all(v is smiths[0] for v in smiths)


def test_a_cache_of_other_columns_or_a_broken_file_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "m.parquet"
    assert save_mentions(path, _frame())
    assert load_mentions(path, (*CACHED_COLUMNS, "extra")) is None
    assert load_mentions(tmp_path / "missing.parquet", CACHED_COLUMNS) is None
    path.write_bytes(b"not parquet")
    assert load_mentions(path, CACHED_COLUMNS) is None


def test_values_that_fit_no_one_type_write_no_cache(tmp_path: Path) -> None:
    path = tmp_path / "m.parquet"
    assert save_mentions(path, _frame())
    mixed = _frame()
    mixed["dob"] = np.array(["2010-01-01", 5, None, "x", 1.5, None], dtype=object)
    assert not save_mentions(path, mixed)
    assert not path.exists(), "an older cache is removed: it no longer matches the store"


_POOL_PROBE = """
import gc, json, sys
from pathlib import Path
import pandas as pd, psutil, pyarrow as pa
from cpgraph.linkage import statefile
from cpgraph.linkage.forking import release_free_memory
from cpgraph.linkage.service import CACHED_COLUMNS, changed_persons

real = statefile.release_arrow_memory
kept = sys.argv[2]  # which call keeps Arrow's pool as it was before the fix
n = 150_000
frame = pd.DataFrame({c: [f"{c}-{i % 5000}-{i}" for i in range(n)] for c in CACHED_COLUMNS})
def uss():
    gc.collect(); release_free_memory()
    return psutil.Process().memory_full_info().uss
before = uss()
statefile.release_arrow_memory = (lambda: None) if kept == "save" else real
assert statefile.save_mentions(Path(sys.argv[1]), frame)
after_save = uss()
statefile.release_arrow_memory = (lambda: None) if kept == "load" else real
assert statefile.load_mentions(Path(sys.argv[1]), CACHED_COLUMNS) is not None
print(json.dumps({"save": after_save - before, "load": uss() - after_save,
                  "pool": pa.default_memory_pool().max_memory()}))
"""


def _pool_probe(tmp_path: Path, mode: str) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", _POOL_PROBE, str(tmp_path / f"{mode}.parquet"), mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_writing_and_reading_the_cache_gives_arrows_memory_back(tmp_path: Path) -> None:
    # Arrow's pool (mimalloc) kept what the cache's table had used for reuse: at 1.29M
    # mentions ~0.5 GB held by the linking process through every later stage.
    got = _pool_probe(tmp_path, "neither")
    save_kept = _pool_probe(tmp_path, "save")
    load_kept = _pool_probe(tmp_path, "load")
    assert got["pool"] > 50_000_000  # the table was large enough to tell
    # what the process still holds after writing is a fraction of the table ...
    assert got["save"] < 0.3 * got["pool"], got
    assert got["save"] < 0.5 * save_kept["save"], (got, save_kept)
    # ... and after reading, the arrays it returns and little else
    assert got["load"] < load_kept["load"] - 0.2 * got["pool"], (got, load_kept)


def test_the_persons_a_run_changed_are_those_whose_records_it_moved_added_or_changed():
    """A resolution rewritten for its probability alone (the same person before and
    after, the mention unchanged) changes no person's flags; a move changes both."""
    stored = np.array(["P1", "P1", "P2", None, "P3"], dtype=object)
    pids = np.array(["P1", "P4", "P2", "P5", "P3"], dtype=object)
    fresh = np.array([False, False, False, True, True])
    got = changed_persons(stored, pids, fresh, {"P9"})
    # P1 lost a mention to P4; P5 gained a new one; P3's mention changed; P9 otherwise;
    # P2's mention was only re-scored
    assert got == {"P1", "P4", "P5", "P3", "P9"}


def test_a_resolutions_digest_changes_with_every_field_and_only_with_them():
    """The incremental write skips a mention whose digest is the last run's: a field
    the digest left out would leave a changed resolution unwritten."""
    bd = {"surname": {"level": "exact", "weight": 4.1}, "prior": {"level": "prior", "weight": -9}}
    cols = (
        np.array(["m1", "m2", "m3"], dtype=object),
        np.array(["P1", "P1", "P2"], dtype=object),
        np.array([0.99, 0.97, np.nan]),
        np.array(["probabilistic", "probabilistic", "singleton"], dtype=object),
        np.array(["auto", "auto", "singleton"], dtype=object),
        np.array([bd, bd, None], dtype=object),
    )
    names = ["Ann Lee", "Ann Lee", "Bo Ray"]
    base = resolution_digests(cols, names)
    assert len(set(base.tolist())) == 3
    # the same content (an equal breakdown in another dict, another NaN) hashes alike
    again = list(cols)
    again[5] = np.array([dict(bd), dict(bd), None], dtype=object)
    again[2] = np.array([0.99, 0.97, float("nan")])
    assert (resolution_digests(tuple(again), names) == base).all()
    changes = {
        0: np.array(["m9", "m2", "m3"], dtype=object),
        1: np.array(["P7", "P1", "P2"], dtype=object),
        2: np.array([0.98, 0.97, np.nan]),
        3: np.array(["steward", "probabilistic", "singleton"], dtype=object),
        4: np.array(["reviewed", "auto", "singleton"], dtype=object),
        5: np.array([{**bd, "dob": {"level": "exact", "weight": 3.0}}, bd, None], dtype=object),
    }
    for at, values in changes.items():
        changed = list(cols)
        changed[at] = values
        got = resolution_digests(tuple(changed), names)
        assert got[0] != base[0], at
        assert (got[1:] == base[1:]).all(), at
    renamed = resolution_digests(cols, ["Anne Lee", "Ann Lee", "Bo Ray"])
    assert renamed[0] != base[0] and (renamed[1:] == base[1:]).all()


def test_a_new_breakdown_format_rewrites_every_resolution_once(monkeypatch):
    """A store written in the old text of breakdowns must not keep it for mentions whose
    resolution did not change: the format is part of every digest."""
    cols = (
        np.array(["m1", "m2"], dtype=object),
        np.array(["P1", "P2"], dtype=object),
        np.array([0.99, np.nan]),
        np.array(["probabilistic", "singleton"], dtype=object),
        np.array(["auto", "singleton"], dtype=object),
        np.array([{"prior": {"level": "prior", "weight": -9}}, None], dtype=object),
    )
    now = resolution_digests(cols, ["Ann Lee", "Bo Ray"])
    monkeypatch.setattr(service, "BREAKDOWN_FORMAT", service.BREAKDOWN_FORMAT - 1)
    older = resolution_digests(cols, ["Ann Lee", "Bo Ray"])
    assert (older != now).all()


def test_a_stored_breakdown_leaves_out_only_missing_comparisons_of_no_weight():
    bd = {
        "forename": {"level": "exact", "weight": np.float64(9.5)},
        "dob": {"level": "missing", "weight": 0.0},
        "upn": {"level": "missing", "weight": 0},
        # (a spec may give "missing" a weight of its own: then it is evidence, and kept)
        "sex": {"level": "missing", "weight": -0.5},
        "address": {"level": "different", "weight": 0.0},
        "kept_apart": {"level": "place_gate", "weight": 0.0},
        "prior": {"level": "prior", "weight": np.float32(-16.25)},
    }
    text = stored_breakdown(bd)
    assert " " not in text
    assert json.loads(text) == {
        "forename": ["exact", 9.5],
        "sex": ["missing", -0.5],
        "address": ["different", 0.0],
        "kept_apart": ["place_gate", 0.0],
        "prior": ["prior", -16.25],
    }
    # the breakdown's order is kept (a reader sees the comparisons as the spec lists them)
    assert list(json.loads(text)) == ["forename", "sex", "address", "kept_apart", "prior"]
