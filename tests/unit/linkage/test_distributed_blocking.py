"""The Dask engine's candidate generation: blocking passes hash-partitioned by their key.

No cluster here: the record files are written, keyed, shuffled and joined as the workers
would, and the union of their pairs is compared with the local engine's candidate pairs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cpgraph.linkage.blocking import candidate_pairs
from cpgraph.linkage.distributed import (
    _join_task,
    _keys_task,
    _Run,
    record_files,
    write_record_files,
)
from cpgraph.linkage.engine import LinkageEngine

from .conftest import mention, population


def _mentions() -> pd.DataFrame:
    """The shared synthetic population, with aliases, former surnames, identifiers and
    mentions without a date of birth (the one-side-missing pass)."""
    frame, _ = population(n_people=200, seed=11)
    extra = [
        mention(
            "s0:x:alias-1",
            forename_m="becky",
            surname_m="nowak",
            aliases_m=["rebecca kowalski"],
            dob="1990-02-03",
            postcode="B15 2TT",
        ),
        mention(
            "s1:x:alias-2",
            system="s1",
            forename_m="rebecca",
            surname_m="kowalski",
            former_surname_m="nowak",
            postcode="B15 2TT",
        ),
        mention("s0:x:nodob-1", forename_m="oliver", surname_m="smith"),
        mention("s1:x:nodob-2", system="s1", forename_m="oliver", surname_m="smith"),
        mention(
            "s1:x:nhs-1",
            system="s1",
            forename_m="jo",
            surname_m="hall",
            nhs_number="9434765919",
            nhs_number_valid=True,
        ),
        mention(
            "s0:x:nhs-2",
            forename_m="joanne",
            surname_m="hull",
            nhs_number="9434765919",
            nhs_number_valid=True,
        ),
    ]
    return pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)


@pytest.fixture(scope="module")
def prep(spec):
    return LinkageEngine(spec)._prepare(_mentions())


def _run(prep, spec, folder: Path, parts: int, left, link_only: bool) -> _Run:
    starts = write_record_files(prep, folder, parts)
    if left is not None:
        pd.DataFrame({"left": left}).to_parquet(folder / "left.parquet")
    n = len(prep.s)
    return _Run(
        str(folder), spec, tuple(prep.name_pairs), n, parts, link_only, left is not None, starts
    )


def _keyed(run: _Run) -> list[dict]:
    """What each record file's task hands on: key rows by (pass, partition)."""
    return [_keys_task(run, k) for k in range(run.parts)]


def _partitioned(prep, spec, folder: Path, parts: int, left, link_only: bool):
    """Pair codes per (pass, partition), and the deduplicated union (as the workers)."""
    run = _run(prep, spec, folder, parts, left, link_only)
    keyed = _keyed(run)
    n = len(prep.s)
    by_pass: dict[int, list[np.ndarray]] = {}
    for r, rule in enumerate(spec.blocking):
        for p in range(parts):
            buckets = _join_task([k.get((r, p)) for k in keyed], list(rule.keys), run)
            assert len(buckets) == parts
            by_pass.setdefault(r, []).append(np.concatenate(buckets))
    allcodes = np.concatenate([c for codes in by_pass.values() for c in codes])
    code = np.unique(allcodes)
    i, j = code // n, code % n
    if link_only:
        g = prep.s["grp"].to_numpy()
        keep = g[i] != g[j]
        i, j = i[keep], j[keep]
    return by_pass, i, j


@pytest.mark.parametrize("parts", [1, 3, 8])
@pytest.mark.parametrize("mode", ["dedupe", "link_only", "incremental"])
def test_partitioned_candidates_are_the_local_engines(tmp_path, spec, prep, parts, mode):
    link_only = mode == "link_only"
    left = None
    if mode == "incremental":
        left = np.random.default_rng(5).random(len(prep.s)) < 0.2
    li, lj = candidate_pairs(prep.s, prep.vtable, spec, link_only=link_only, left=left)
    assert len(li) > 50  # a population that makes pairs in every mode
    _, i, j = _partitioned(prep, spec, tmp_path, parts, left, link_only)
    np.testing.assert_array_equal(i, li)
    np.testing.assert_array_equal(j, lj)


def test_each_block_of_a_pass_is_in_one_partition(tmp_path, spec, prep):
    # a block (one key value) is whole in one partition, whichever record file its
    # records come from, so its pairs are all made there; a pair two blocks of one pass
    # share (two name variants) may be made twice, and the pair buckets deduplicate it
    # as the local engine does
    keyed = _keyed(_run(prep, spec, tmp_path, 6, None, False))
    passes = {r for k in keyed for r, _ in k}
    assert len(passes) >= 5  # most of the default passes have blocks here
    for rule in passes:
        keys = list(spec.blocking[rule].keys)
        owner: dict[tuple, int] = {}
        for k in keyed:
            for (r, p), rows in k.items():
                if r == rule:
                    for key in rows[keys].itertuples(index=False, name=None):
                        assert owner.setdefault(key, p) == p
        if len(owner) >= 20:
            assert len(set(owner.values())) > 1  # a pass of many blocks is spread out


def test_the_record_files_are_the_local_tables(tmp_path, spec, prep):
    run = _run(prep, spec, tmp_path, 4, None, False)
    files = record_files(run.run_dir, 4)
    s = pd.concat([pd.read_parquet(a) for a, _ in files], ignore_index=True)
    v = pd.concat([pd.read_parquet(b) for _, b in files], ignore_index=True)
    pd.testing.assert_frame_equal(s, prep.s)
    pd.testing.assert_frame_equal(v, prep.vtable[list(v.columns)])
    assert all(len(pd.read_parquet(a)) for a, _ in files)  # every file has records


def test_the_alias_and_missing_date_passes_are_partitioned_too(tmp_path, spec, prep):
    # the pairs only an alias (forename root, former surname) or a missing date of birth
    # blocks are among the partitioned candidates
    pos = prep.pos
    _, i, j = _partitioned(prep, spec, tmp_path, 4, None, False)
    made = set(zip(i.tolist(), j.tolist(), strict=True))
    for a, b in (("s0:x:alias-1", "s1:x:alias-2"), ("s0:x:nodob-1", "s1:x:nodob-2")):
        pa, pb = int(pos[a]), int(pos[b])
        assert (min(pa, pb), max(pa, pb)) in made


def test_the_run_files_are_private(tmp_path, spec, prep):
    write_record_files(prep, tmp_path, 2)
    files = [f for pair in record_files(tmp_path, 2) for f in pair]
    for f in files:
        assert f.stat().st_mode & 0o777 == 0o600
