"""At rest: a private data directory, and a linkage cache that cannot run code.

The linkage incremental state was a pickle in ``<data_dir>/linkage/``: whoever could
write that file ran code as cpgraph on the next ``cpgraph link``. Now it is an
``.npz`` read with ``allow_pickle=False`` (model as JSON).
"""

from __future__ import annotations

import os
import pickle
import stat
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cpgraph.config import Backend, Settings
from cpgraph.linkage.engine import LinkageEngine
from cpgraph.linkage.service import LinkageService
from cpgraph.linkage.spec import load_spec
from cpgraph.linkage.statefile import load_state, save_state
from cpgraph.security import AuditLog
from cpgraph.store import create_store
from tests.unit.linkage.conftest import population

SPEC = load_spec()


@pytest.fixture(scope="module")
def linked() -> object:
    """A real engine run: its state has a model, an edges frame and fingerprints."""
    df, _ = population(120, seed=3)
    engine = LinkageEngine(SPEC)
    engine.fit(df)
    first = engine.link(df, model=engine.model)
    return engine, df, first


def test_state_round_trips_exactly(linked: object, tmp_path: Path) -> None:
    engine, df, first = linked  # type: ignore[misc]
    state = first.state
    assert len(state.edges) and len(state.fingerprints)
    path = tmp_path / "linkage" / "state.npz"
    save_state(path, state, SPEC.version)
    loaded = load_state(path, SPEC.version)
    assert loaded is not None
    pd.testing.assert_frame_equal(loaded.edges, state.edges, check_dtype=False)
    assert state.cannot is not None and loaded.cannot is not None and len(state.cannot)
    pd.testing.assert_frame_equal(loaded.cannot, state.cannot)
    assert loaded.edges.dtypes.to_dict() == {
        c: (np.dtype(object) if t == np.dtype(object) else t) for c, t in state.edges.dtypes.items()
    }
    pd.testing.assert_series_equal(loaded.fingerprints, state.fingerprints, check_index_type=False)
    assert loaded.model.to_dict() == state.model.to_dict()
    # An incremental run from the loaded state gives what it gives from the original.
    new = df.copy()
    new.loc[3, "postcode"] = "CV1 1AA"
    prev = dict(zip(first.assignments["key"], first.assignments["person_id"], strict=True))
    a = engine.link(new, model=engine.model, previous_ids=prev, state=state)
    b = engine.link(new, model=engine.model, previous_ids=prev, state=loaded)
    assert a.summary["incremental"] and b.summary["incremental"]
    pd.testing.assert_frame_equal(
        a.assignments.drop(columns=["breakdown"]), b.assignments.drop(columns=["breakdown"])
    )
    # Private: the folder 0700, the file 0600.
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Stale or foreign files are ignored, never trusted.
    assert load_state(path, SPEC.version + "-other") is None
    path.write_bytes(b"not a state")
    assert load_state(path, SPEC.version) is None
    assert load_state(tmp_path / "missing.npz", SPEC.version) is None


class _Boom:
    """Loading a pickle of this runs code (writes a marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (self.marker, "pwned"))  # type: ignore[return-value]


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_loading_the_state_never_runs_code(linked: object, tmp_path: Path) -> None:
    _, _, first = linked  # type: ignore[misc]
    marker = tmp_path / "marker"
    path = tmp_path / "state.npz"
    save_state(path, first.state, SPEC.version)
    # Swap one member of the archive for a pickled object array that runs code.
    evil = np.array([_Boom(marker)], dtype=object)
    with zipfile.ZipFile(path, "a") as zf, zf.open("fp.values.npy", "w", force_zip64=True) as fh:
        np.lib.format.write_array(fh, evil, allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle"):
        np.load(path, allow_pickle=False)["fp.values"]  # the evil member is the one read
    assert load_state(path, SPEC.version) is None
    assert not marker.exists()
    # The service reads only the .npz; a pickle where the old cache lived is never loaded.
    settings = Settings(backend=Backend.FALKORDB, data_dir=tmp_path / "data")
    service = LinkageService.__new__(LinkageService)
    service.settings, service.spec = settings, SPEC
    service.store = create_store(settings)
    assert service.state_path.suffix == ".npz"
    legacy = service.state_path.with_suffix(".pkl")
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(pickle.dumps((1, SPEC.version, _Boom(marker))))
    assert service._load_state() is None
    assert not marker.exists()
    service._stage_state(first.state)
    assert not legacy.exists(), "the old pickle cache is deleted when the new one is written"


@pytest.mark.integration
async def test_data_dir_and_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "falkordb.log").write_text("old log\n")
    os.chmod(data / "falkordb.log", 0o644)
    settings = Settings(backend=Backend.FALKORDB, data_dir=data, falkordb_url=None)
    store = create_store(settings)
    await store.start()
    try:
        await store.bootstrap()
        await AuditLog(store).append(user="u", role="investigator", action="q")
    finally:
        await store.close()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    found = list(data.rglob("*"))
    assert any(p.name == "audit.anchor" for p in found)
    assert any(p.name.endswith(".aof") or p.name.endswith(".rdb") for p in found)
    for path in found:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_dir():
            assert mode == 0o700, path
        elif path.is_file():
            assert mode == 0o600, (path, oct(mode))
