from __future__ import annotations

import pytest

from cpgraph.linkage.spec import DEFAULT_SPEC_PATH, SpecError, load_spec, loads_spec


def test_default_spec_is_versioned_and_complete():
    spec = load_spec()
    assert spec.version == "8"
    # v5: learned forename variants, the place gate and the ambiguity check are on
    assert spec.variants_learn and spec.variants_min_count >= 2
    assert spec.place_gate == "pc_sector"
    assert spec.ambiguity_margin is not None and spec.typical_parent_gap > 0
    # v6: a forename/middle swap counts as a nickname; namesakes a generation apart
    fn = spec.comparison("forename")
    assert fn.swap_level is not None and fn.levels[fn.swap_level].label == "nickname"
    assert spec.namesake_generation_gap == 12 and spec.corroborate_within_household
    # v7: households that move, namesake rivals within a typo's worth, nickname typos
    assert spec.rel_household_moves and spec.namesake_max_lag == 10.0
    assert spec.guard_nickname_typo == 0.92
    # v8: a stated alias surname with the birth date corroborates a move
    assert spec.alias_corroborates and spec.alias_dob_levels[0] == "exact"
    assert {"forename", "surname", "dob", "postcode", "nhs_number"} <= set(spec.names)
    assert spec.review <= spec.auto
    assert all(spec.comparison(n).deterministic for n in ("nhs_number", "upn", "pnc_id"))
    assert not spec.comparison("cro_number").deterministic


def test_febrl_spec_loads():
    spec = load_spec(DEFAULT_SPEC_PATH.parent / "febrl.toml")
    assert not spec.comparison("soc_sec_id").deterministic
    assert [lv.label for lv in spec.comparison("soc_sec_id").levels] == [
        "exact",
        "lev<=1",
        "lev<=2",
    ]


BASE = """
version = "1"
[blocking]
rules = [{ keys = ["dob"] }]
[[comparisons]]
name = "dob"
kind = "date"
column = "dob"
levels = [LEVELS]
"""


@pytest.mark.parametrize(
    "text, msg",
    [
        (BASE.replace('version = "1"', 'version = "9"').replace("LEVELS", '"exact"'), "version"),
        (BASE.replace("LEVELS", '"nickname"'), "not valid"),
        (BASE.replace("LEVELS", '"lev"'), "threshold"),
        (
            BASE.replace("LEVELS", '"exact"').replace(
                '[blocking]\nrules = [{ keys = ["dob"] }]', ""
            ),
            "blocking",
        ),
        (BASE.replace("LEVELS", '"exact"') + 'swap_level = "exact"\n', "swap_level"),
    ],
)
def test_bad_specs_are_rejected(text, msg):
    with pytest.raises(SpecError, match=msg):
        loads_spec(text)
