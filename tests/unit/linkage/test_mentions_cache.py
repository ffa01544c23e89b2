"""The mentions cache an incremental run reads unchanged mentions from (`statefile`)."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pandas as pd

from cpgraph.linkage.service import CACHED_COLUMNS
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
