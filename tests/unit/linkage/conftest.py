"""Shared fixtures: a small synthetic population in the linkage input contract."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from cpgraph.linkage import LinkageEngine, load_spec

FORENAMES = [
    "oliver",
    "amelia",
    "george",
    "isla",
    "harry",
    "ava",
    "jack",
    "mia",
    "noah",
    "emily",
    "leo",
    "grace",
    "oscar",
    "sophia",
    "charlie",
    "lily",
    "jacob",
    "freya",
    "thomas",
    "ella",
    "william",
    "isabella",
    "james",
    "poppy",
    "samuel",
    "ruby",
    "daniel",
    "evie",
    "joseph",
    "chloe",
    "adebayo",
    "zofia",
    "mohammed",
    "aisha",
]
SURNAMES = [
    "smith",
    "jones",
    "taylor",
    "brown",
    "williams",
    "wilson",
    "johnson",
    "davies",
    "patel",
    "wright",
    "walker",
    "evans",
    "oyelaran",
    "nowak",
    "khan",
    "thompson",
    "hughes",
    "edwards",
    "green",
    "hall",
    "wood",
    "clarke",
    "jackson",
    "white",
    "harris",
    "martin",
    "cooper",
    "ward",
    "morris",
    "king",
    "baker",
    "lukasik",
]
OUTWARD = ["B15", "B12", "CV1", "WS2", "DY4", "WV10", "B90", "B6"]


def mention(key: str, **kw) -> dict:
    """A contract row with every column present."""
    base = {
        "key": key,
        "system": kw.pop("system", "sys1"),
        "agency": "police",
        "kind": "x",
        "forename": None,
        "middle_names": None,
        "surname": None,
        "forename_m": None,
        "middle_m": None,
        "surname_m": None,
        "former_surname_m": None,
        "aliases_m": [],
        "dob": None,
        "sex": None,
        "postcode": None,
        "address": None,
        "nhs_number": None,
        "nhs_number_valid": None,
        "upn": None,
        "upn_valid": None,
        "pnc_id": None,
        "pnc_id_valid": None,
        "prison_number": None,
        "cro_number": None,
    }
    base.update(kw)
    return base


def queued(res, a: str, b: str) -> pd.DataFrame:
    """The review queue's rows of the pair ``a``, ``b`` (either way round) in a result."""
    q = res.review
    return q[((q["key_a"] == a) & (q["key_b"] == b)) | ((q["key_a"] == b) & (q["key_b"] == a))]


def _typo(s: str, rng: random.Random) -> str:
    k = rng.randrange(len(s))
    return s[:k] + rng.choice("aeiourstn") + s[k + 1 :]


def population(n_people: int = 250, seed: int = 7) -> tuple[pd.DataFrame, dict[str, str]]:
    """People with 1–3 mentions each (typos, missing fields); returns (frame, truth)."""
    rng = random.Random(seed)
    rows, truth = [], {}
    for p in range(n_people):
        fn, sn = rng.choice(FORENAMES), rng.choice(SURNAMES)
        dob = f"{rng.randint(1950, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        inward = f"{rng.randint(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}"
        pc = f"{rng.choice(OUTWARD)} {inward}"
        sex = rng.choice("MF")
        for m in range(rng.choice([1, 2, 2, 3])):
            f, s, d, c = fn, sn, dob, pc
            r = rng.random()
            if m and r < 0.25:
                f = _typo(f, rng)
            elif m and r < 0.4:
                s = _typo(s, rng)
            elif m and r < 0.5:
                c = None
            key = f"s{m % 2}:x:{p}-{m}"
            rows.append(
                mention(
                    key, system=f"s{m % 2}", forename_m=f, surname_m=s, dob=d, postcode=c, sex=sex
                )
            )
            truth[key] = f"T{p}"
    return pd.DataFrame(rows), truth


@pytest.fixture(scope="session")
def spec():
    return load_spec()


@pytest.fixture(scope="session")
def pop():
    return population()


@pytest.fixture(scope="session")
def indexed_pop(pop):
    """The synthetic population with its two systems as master indexes."""
    df = pop[0]
    return df.assign(kind=np.where(df["system"] == "s0", "patient", "nominal"))


@pytest.fixture(scope="session")
def indexed_model(indexed_pop):
    """A model fitted on the indexed population with the shipped spec (the rule tests')."""
    return LinkageEngine(load_spec()).fit(indexed_pop)


@pytest.fixture(scope="session")
def fitted(spec, pop):
    """An engine with a model fitted on the synthetic population."""
    eng = LinkageEngine(spec)
    eng.fit(pop[0])
    return eng


@pytest.fixture
def merged_rows(monkeypatch) -> list[int]:
    """The row count of every ``DataFrame.merge`` made while the test runs (a join's
    size is what a memory bound on it watches)."""
    sizes: list[int] = []
    merge = pd.DataFrame.merge

    def counting(self, *a, **kw):
        out = merge(self, *a, **kw)
        sizes.append(len(out))
        return out

    monkeypatch.setattr(pd.DataFrame, "merge", counting)
    return sizes
