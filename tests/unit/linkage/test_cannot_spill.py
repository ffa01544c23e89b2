"""A large run's cannot-links wait on disk once clustered (`LinkageEngine` ``spill_dir``)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cpgraph.files import write_npz
from cpgraph.linkage import LinkageEngine
from cpgraph.linkage.engine import SPILL_PREFIX, remove_spill, remove_stale_spill
from cpgraph.linkage.statefile import load_state, save_state


def _mapped(values: np.ndarray) -> bool:
    """Whether ``values`` is (a view of) a memory-mapped file."""
    while values is not None:
        if isinstance(values, np.memmap):
            return True
        values = values.base if isinstance(values.base, np.ndarray) else None
    return False


def _link(spec, pop, **kw):
    return LinkageEngine(spec, **kw).link(pop[0].copy())


def test_spilled_cannot_links_give_the_same_run_and_the_same_saved_state(
    spec, pop, tmp_path: Path
) -> None:
    kept = _link(spec, pop)
    folder = tmp_path / "linkage"
    spilled = _link(spec, pop, spill_dir=folder, spill_min=1)
    files = spilled.state.cannot_files
    assert kept.state.cannot_files is None, "no folder: in memory, as before"
    assert files is not None and set(files) == {"a", "b", "weight"}
    # the run decides the same: persons, breakdowns, review queue
    pd.testing.assert_frame_equal(kept.assignments, spilled.assignments)
    pd.testing.assert_frame_equal(
        kept.review.drop(columns=["breakdown"]), spilled.review.drop(columns=["breakdown"])
    )
    assert len(kept.state.cannot) > 0
    for col in ("a", "b", "weight"):
        np.testing.assert_array_equal(
            np.asarray(kept.state.cannot[col]), np.asarray(spilled.state.cannot[col])
        )
        # memory maps of private files in a private folder, not arrays in memory
        assert _mapped(spilled.state.cannot[col].to_numpy())
    for path in files.values():
        assert path.name.startswith(SPILL_PREFIX) and path.parent == folder
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # the state written from the files reads back as the one written from memory
    save_state(tmp_path / "kept.npz", kept.state, spec.version)
    save_state(tmp_path / "spilled.npz", spilled.state, spec.version)
    a = load_state(tmp_path / "kept.npz", spec.version)
    b = load_state(tmp_path / "spilled.npz", spec.version)
    assert a is not None and b is not None
    pd.testing.assert_frame_equal(a.cannot, b.cannot)
    assert a.cannot["a"].dtype == np.int32 and a.cannot["weight"].dtype == np.float64
    pd.testing.assert_frame_equal(a.edges, b.edges)
    remove_spill(files)
    assert not any(p.exists() for p in files.values())


def test_few_cannot_links_stay_in_memory(spec, pop, tmp_path: Path) -> None:
    result = _link(spec, pop, spill_dir=tmp_path, spill_min=10**9)
    assert result.state.cannot_files is None
    assert not list(tmp_path.iterdir())


def test_a_failed_run_leaves_no_spill_file(spec, pop, tmp_path: Path, monkeypatch) -> None:
    def broken(self, *a, **kw):
        raise RuntimeError("assignments failed")

    monkeypatch.setattr(LinkageEngine, "_assignments", broken)
    with pytest.raises(RuntimeError, match="assignments failed"):
        _link(spec, pop, spill_dir=tmp_path, spill_min=1)
    assert not list(tmp_path.glob(f"{SPILL_PREFIX}*"))


def test_stale_spill_files_of_dead_runs_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    mine = tmp_path / f"{SPILL_PREFIX}{os.getpid()}-abc-a.npy"
    # (a pid above the kernel's maximum is never a live process)
    dead = tmp_path / f"{SPILL_PREFIX}{2**22 + 7}-abc-a.npy"
    other = tmp_path / "falkordb-cpgraph-state.npz"
    for p in (mine, dead, other):
        p.write_bytes(b"x")
    assert remove_stale_spill(tmp_path) == 1
    assert mine.exists() and other.exists() and not dead.exists()
    assert remove_stale_spill(tmp_path / "missing") == 0


def test_npz_members_copied_from_npy_files_read_as_arrays(tmp_path: Path) -> None:
    big = np.arange(10, dtype=np.int32)
    src = tmp_path / "big.npy"
    np.save(src, big)
    write_npz(tmp_path / "x.npz", {"small": np.array([1.5, 2.5])}, {"big": src})
    with np.load(tmp_path / "x.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["big", "small"]
        assert npz["big"].tolist() == big.tolist() and npz["big"].dtype == np.int32
        assert npz["small"].tolist() == [1.5, 2.5]
    assert stat.S_IMODE((tmp_path / "x.npz").stat().st_mode) == 0o600
