"""The Dask engine's candidate generation: blocking passes hash-partitioned by their key.

No cluster here: the partition files are written and joined as the workers would, and
the union of their pairs is compared with the local engine's candidate pairs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cpgraph.linkage.blocking import candidate_pairs
from cpgraph.linkage.distributed import block_partition_pairs, write_block_partitions
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


def _partitioned(prep, spec, folder: Path, parts: int, left, link_only: bool):
    """Pair codes per pass and partition, and the deduplicated union (as the workers)."""
    n = len(prep.s)
    files = write_block_partitions(prep, spec, folder, parts, left)
    by_pass: dict[int, list[np.ndarray]] = {}
    for f in files:
        t = pd.read_parquet(f.path)
        by_pass.setdefault(f.rule, []).append(
            block_partition_pairs(t, f.keys, spec.max_block_size, n)
        )
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
    # a block (one key value) is whole in one partition, so its pairs are all made there;
    # a pair two blocks of one pass share (two name variants) may be made twice, and the
    # pair buckets deduplicate it as the local engine does
    files = write_block_partitions(prep, spec, tmp_path, 6)
    passes = {f.rule for f in files}
    assert len(passes) >= 5  # most of the default passes have blocks here
    for rule in passes:
        owner: dict[tuple, int] = {}
        for f in (f for f in files if f.rule == rule):
            t = pd.read_parquet(f.path)
            for key in t[f.keys].itertuples(index=False, name=None):
                assert owner.setdefault(key, f.part) == f.part


def test_the_alias_and_missing_date_passes_are_partitioned_too(tmp_path, spec, prep):
    # the pairs only an alias (forename root, former surname) or a missing date of birth
    # blocks are among the partitioned candidates
    pos = prep.pos
    _, i, j = _partitioned(prep, spec, tmp_path, 4, None, False)
    made = set(zip(i.tolist(), j.tolist(), strict=True))
    for a, b in (("s0:x:alias-1", "s1:x:alias-2"), ("s0:x:nodob-1", "s1:x:nodob-2")):
        pa, pb = int(pos[a]), int(pos[b])
        assert (min(pa, pb), max(pa, pb)) in made


def test_partition_files_are_private(tmp_path, spec, prep):
    files = write_block_partitions(prep, spec, tmp_path / "run", 2)
    assert files
    assert (tmp_path / "run" / "blocks").stat().st_mode & 0o777 == 0o700
    for f in files:
        assert Path(f.path).stat().st_mode & 0o777 == 0o600
