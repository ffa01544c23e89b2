"""The place gate, name variants learned from the data, and ambiguous name-only mentions."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from cpgraph.linkage import LinkageEngine
from cpgraph.linkage.clustering import (
    PLACE_PAIR_BASE,
    PlaceGate,
    constrained_components,
    corroborated_place_pairs,
    household_ids,
)
from cpgraph.linkage.comparisons import nickname_equivalent, nickname_hits
from cpgraph.linkage.spec import DEFAULT_SPEC_PATH, loads_spec
from cpgraph.linkage.standardise import name_variants, standardise
from cpgraph.linkage.variants import learn_name_variants

from .conftest import mention


def arr(*x):
    return np.asarray(x, dtype=np.int64)


def gated_run(n, edges, places, *, gated=None, home=None, corroborated=frozenset(), household=None):
    ei = arr(*[e[0] for e in edges])
    ej = arr(*[e[1] for e in edges])
    w = np.asarray([e[2] for e in edges], float)
    pr = np.full(len(edges), 2, np.int64)
    ptr = val = None
    if home is not None:
        ptr = np.zeros(n + 1, np.int64)
        vals: list[int] = []
        for r in range(n):
            vals += home.get(r, [])
            ptr[r + 1] = len(vals)
        val = arr(*vals)
    gate = PlaceGate(
        places=arr(*places),
        gated=np.asarray(gated if gated is not None else [True] * len(edges), bool),
        home_ptr=ptr,
        home_val=val,
        corroborated=corroborated,
        household=None if household is None else arr(*household),
    )
    empty = arr()
    return constrained_components(n, ei, ej, w, pr, empty, empty, np.zeros(0, bool), gate=gate)[0]


# records 0,1 at place 0 (the person), record 2 at place 1 (a namesake elsewhere)
EDGES = [(0, 1, 30.0), (1, 2, 6.0)]


def test_gate_keeps_groups_at_disjoint_places_apart():
    lab = gated_run(3, EDGES, [0, 0, 1])
    assert lab[0] == lab[1] and lab[2] != lab[1]
    # the same edges ungated (identifier or steward links) join
    lab = gated_run(3, EDGES, [0, 0, 1], gated=[True, False])
    assert lab[0] == lab[1] == lab[2]


def test_gate_passes_a_move_the_household_evidences():
    # a relative of record 0 has been seen at place 1: the household lived there
    lab = gated_run(3, EDGES, [0, 0, 1], home={0: [1]})
    assert lab[0] == lab[2]
    # two other people span places 0 and 1: a household that moved together
    lab = gated_run(3, EDGES, [0, 0, 1], corroborated={0 * PLACE_PAIR_BASE + 1})
    assert lab[0] == lab[2]


def test_a_member_without_address_counts_where_its_household_is():
    # record 1 has no postcode but its relatives live at place 0; record 2 is elsewhere
    lab = gated_run(3, [(1, 2, 14.0)], [0, -1, 1], home={1: [0]})
    assert lab[1] != lab[2]
    # without household knowledge nothing says the two differ
    lab = gated_run(3, [(1, 2, 14.0)], [0, -1, 1])
    assert lab[1] == lab[2]


def test_corroborated_pairs_need_two_people():
    labels = arr(0, 0, 2, 2, 4, 4)
    places = arr(5, 6, 5, 6, 5, 7)
    corr = corroborated_place_pairs(labels, places, min_groups=2)
    assert corr == {5 * PLACE_PAIR_BASE + 6}


def test_corroboration_within_a_household():
    # clusters 0 and 2 (one household, 7) both moved between places 5 and 6; cluster 4
    # (household 9) spans them too, alone in its household
    labels = arr(0, 0, 2, 2, 4, 4)
    places = arr(5, 6, 5, 6, 5, 6)
    household = arr(7, 7, 7, 7, 9, 9)
    corr = corroborated_place_pairs(labels, places, min_groups=2, household=household)
    assert corr == {(7, 5 * PLACE_PAIR_BASE + 6)}
    # without households the three together corroborate the pair for anyone
    assert corroborated_place_pairs(labels, places, min_groups=2) == {5 * PLACE_PAIR_BASE + 6}


def test_another_households_move_does_not_open_the_gate():
    # the person (records 0, 1 at place 0) and a namesake elsewhere (record 2, place 1);
    # some other household moved between places 0 and 1
    pair = 0 * PLACE_PAIR_BASE + 1
    lab = gated_run(3, EDGES, [0, 0, 1], corroborated={(5, pair)}, household=[3, 3, 4])
    assert lab[2] != lab[0]
    # the namesake's own household moved that way: the join goes ahead
    lab = gated_run(3, EDGES, [0, 0, 1], corroborated={(4, pair)}, household=[3, 3, 4])
    assert lab[2] == lab[0]


def test_household_ids_follow_stated_relationships():
    labels = arr(0, 0, 2, 3, 3)
    # record 1 (cluster 0) is the mother of record 2; record 3 is unrelated
    got = household_ids(labels, arr(2), arr(1))
    assert got[0] == got[1] == got[2] and got[3] == got[4] != got[0]


def test_learned_variants_need_independent_evidence(spec):
    rows = [
        # two police records each give "katarzyna" as an alias of "kasia nowak"
        mention("p:1", forename_m="kasia", surname_m="nowak", aliases_m=["katarzyna nowak"]),
        mention("p:2", forename_m="kasia", surname_m="nowak", aliases_m=["katarzyna nowak"]),
        # one record only: a one-off, not learned
        mention("p:3", forename_m="gosia", surname_m="wojcik", aliases_m=["malgorzata wojcik"]),
        # an alias under another surname is another name, not a forename variant
        mention("p:4", forename_m="ola", surname_m="lis", aliases_m=["aleksandra kot"]),
        mention("p:5", forename_m="ola", surname_m="lis", aliases_m=["aleksandra kot"]),
        # two hospital records with one valid NHS number, twice over
        mention("h:1", forename_m="mo", surname_m="khan", nhs_number="9434765919"),
        mention("h:2", forename_m="mohammed", surname_m="khan", nhs_number="9434765919"),
        mention("h:3", forename_m="mo", surname_m="ali", nhs_number="9434765870"),
        mention("h:4", forename_m="mohammed", surname_m="ali", nhs_number="9434765870"),
    ]
    for r in rows:
        if r["nhs_number"]:
            r["nhs_number_valid"] = True
    s = standardise(pd.DataFrame(rows), spec)
    pairs = learn_name_variants(s, name_variants(s), spec)
    assert ("katarzyna", "kasia") not in pairs  # pairs are sorted
    assert ("kasia", "katarzyna") in pairs and ("mo", "mohammed") in pairs
    assert all("gosia" not in p and "ola" not in p for p in pairs)
    # the dataset alone does not know them; with the learned pairs they are nicknames
    assert not nickname_equivalent("kasia", "katarzyna")
    assert nickname_equivalent("kasia", "katarzyna", pairs)
    hits = nickname_hits(np.array(["kasia", "becky"]), np.array(["katarzyna", "rebecca"]), pairs)
    assert hits.tolist() == [True, True]


def link(fitted, rows, base, spec=None, **kw):
    df = pd.concat([base, pd.DataFrame(rows)], ignore_index=True)
    eng = fitted if spec is None else LinkageEngine(spec)
    return eng.link(df, model=fitted.model, **kw)


def pid(res, key):
    return res.assignments.set_index("key").loc[key, "person_id"]


@pytest.fixture(scope="module")
def base(pop):
    return pop[0]


@pytest.fixture(scope="module")
def ungated_spec():
    text = DEFAULT_SPEC_PATH.read_text().replace('place_gate = "pc"', 'place_gate = ""')
    return loads_spec(text)


MUM = dict(forename_m="ingrid", surname_m="lukasik", dob="1985-03-04", sex="F")
KID = dict(forename_m="leo", surname_m="lukasik", dob="2016-04-09", sex="M")


def test_same_name_same_dob_stranger_elsewhere_is_not_merged(fitted, base, ungated_spec):
    rows = [
        mention("cs:mum", system="cs", kind="person", postcode="B15 2TT", **MUM),
        mention("cs:kid", system="cs", kind="person", postcode="B15 2TT", **KID),
        mention("hl:mum", system="hl", kind="patient", postcode="B15 2TT", **MUM),
        # a witness in another force's area with the same name and date of birth
        mention("pol:x", system="pol", kind="nominal", postcode="CV1 9ZZ", **MUM),
    ]
    rels = pd.DataFrame(
        [("cs:kid", "cs:mum", "mother")], columns=["from_key", "to_key", "relationship"]
    )
    res = link(fitted, rows, base, relationships=rels)
    assert pid(res, "cs:mum") == pid(res, "hl:mum")
    assert pid(res, "pol:x") != pid(res, "cs:mum")
    # it waits in the review queue for a steward instead
    q = res.review
    pair = {frozenset(x) for x in zip(q["key_a"], q["key_b"], strict=True)}
    assert {frozenset(("cs:mum", "pol:x")), frozenset(("hl:mum", "pol:x"))} & pair
    # with the reason the steward sees in the weight waterfall
    row = q[(q["key_a"] == "pol:x") | (q["key_b"] == "pol:x")].iloc[0]
    assert row["probability"] >= 0.95
    assert row["breakdown"]["kept_apart"] == {"level": "different_addresses", "weight": 0.0}
    # the gate is what keeps them apart: without it the evidence alone merges them
    res2 = link(fitted, rows, base, ungated_spec, relationships=rels)
    assert pid(res2, "pol:x") == pid(res2, "cs:mum")


def test_a_child_who_moved_is_still_one_child(fitted, base):
    # (the small test model weighs a postcode change heavily; a lower `auto` makes the
    # pair a link on evidence, so that only the gate can keep it apart)
    spec = loads_spec(DEFAULT_SPEC_PATH.read_text().replace("auto = 0.95", "auto = 0.65"))
    ungated = loads_spec(
        DEFAULT_SPEC_PATH.read_text()
        .replace("auto = 0.95", "auto = 0.65")
        .replace('place_gate = "pc"', 'place_gate = ""')
    )
    rows = [
        # the school has the new address, the hospital still the old one
        mention("ed:kid", system="ed", kind="pupil", postcode="B12 3AB", **KID),
        mention("hl:kid", system="hl", kind="patient", postcode="DY4 4QQ", **KID),
        # both name the same mother
        mention("ed:mum", system="ed", kind="contact", forename_m="zofia", surname_m="lukasik"),
        mention(
            "hl:mum", system="hl", kind="related_person", forename_m="zofia", surname_m="lukasik"
        ),
    ]
    rels = pd.DataFrame(
        [("ed:kid", "ed:mum", "mother"), ("hl:kid", "hl:mum", "mother")],
        columns=["from_key", "to_key", "relationship"],
    )
    res = link(fitted, rows, base, spec, relationships=rels)
    assert pid(res, "ed:kid") == pid(res, "hl:kid")
    # nothing names a common relative: the move is not evidenced, a steward decides
    res2 = link(fitted, rows[:2], base, spec)
    assert pid(res2, "ed:kid") != pid(res2, "hl:kid")
    assert pid(link(fitted, rows[:2], base, ungated), "ed:kid") == pid(
        link(fitted, rows[:2], base, ungated), "hl:kid"
    )
    # a full-name match, middle names included, with the date of birth: the gate yields
    named = [dict(r, middle_m="tadeusz") for r in rows[:2]]
    res3 = link(fitted, named, base, spec)
    assert pid(res3, "ed:kid") == pid(res3, "hl:kid")


def test_a_mother_whose_hospital_kept_the_old_address_is_found_there(fitted, base):
    """The family moved; the mother's hospital record (her only date of birth) still has
    the old address, which her son's hospital record has too.  "Zofia Lukasik, mother of
    Leo" at the new address is looked for at Leo's old address as well."""
    text = DEFAULT_SPEC_PATH.read_text()
    assert "household_moves = true" in text
    no_moves = loads_spec(text.replace("household_moves = true", "household_moves = false"))
    zofia = dict(forename_m="zofia", surname_m="lukasik")
    new, old = (
        dict(postcode="B12 3AB", address="4 elm road"),
        dict(postcode="DY4 4QQ", address="17 canal street"),
    )
    rows = [
        mention("ed:kid", system="ed", kind="pupil", **new, **KID),
        mention("hl:kid", system="hl", kind="patient", **old, **KID),
        mention("ed:mum", system="ed", kind="contact", **new, **zofia),
        mention("hl:mum", system="hl", kind="related_person", **new, **zofia),
        mention("hl:pat", system="hl", kind="patient", dob="1985-03-04", sex="F", **old, **zofia),
    ]
    rels = pd.DataFrame(
        [("ed:kid", "ed:mum", "mother"), ("hl:kid", "hl:mum", "mother")],
        columns=["from_key", "to_key", "relationship"],
    )
    res = link(fitted, rows, base, relationships=rels)
    assert pid(res, "ed:kid") == pid(res, "hl:kid")
    assert pid(res, "hl:pat") == pid(res, "ed:mum") == pid(res, "hl:mum")
    a = res.assignments.set_index("key")
    assert "relationship:household" in set(a.loc[["hl:pat", "ed:mum", "hl:mum"], "method"])
    # without the rule her hospital record waits alone (the addresses disagree)
    res2 = link(fitted, rows, base, no_moves, relationships=rels)
    assert pid(res2, "ed:kid") == pid(res2, "hl:kid")
    assert pid(res2, "hl:pat") != pid(res2, "ed:mum")
    # a namesake born the same day at an address the family never had is not her
    stranger = mention(
        "pol:x",
        system="pol",
        kind="nominal",
        dob="1985-03-04",
        sex="F",
        postcode="CV1 9ZZ",
        **zofia,
    )
    res3 = link(fitted, [*rows[:4], stranger], base, relationships=rels)
    assert pid(res3, "pol:x") != pid(res3, "ed:mum")


def _father_son(child_dob: str, sr_forename: str = "kwame") -> tuple[list[dict], pd.DataFrame]:
    man = dict(forename_m="kwame", surname_m="oyelaran", sex="M", postcode="B15 2TT")
    rows = [
        mention("pol:sr", system="pol", kind="nominal", dob="1960-02-03", **man)
        | {"forename_m": sr_forename},
        mention("pol:jr", system="pol", kind="nominal", dob="1999-02-03", **man),
        mention(
            "ed:kid",
            system="ed",
            kind="pupil",
            forename_m="ama",
            surname_m="oyelaran",
            dob=child_dob,
            postcode="B15 2TT",
            sex="F",
        ),
        # the school knows the child's father by name only
        mention(
            "ed:dad",
            system="ed",
            kind="contact",
            forename_m="kwame",
            surname_m="oyelaran",
            postcode="B15 2TT",
        ),
    ]
    rels = pd.DataFrame(
        [("ed:kid", "ed:dad", "father")], columns=["from_key", "to_key", "relationship"]
    )
    return rows, rels


def test_name_only_father_goes_to_the_plausible_parent(fitted, base):
    # the son was 19 at her birth (possible, so no cannot-link), his father 58
    rows, rels = _father_son("2018-05-01")
    res = link(fitted, rows, base, relationships=rels)
    assert pid(res, "pol:sr") != pid(res, "pol:jr")  # one force's two nominals
    assert pid(res, "ed:dad") == pid(res, "pol:sr")


def test_name_only_mention_fitting_two_people_equally_is_left_apart(fitted, base):
    rows, rels = _father_son("2021-05-01")  # 22 and 61: either could be her father
    res = link(fitted, rows, base, relationships=rels)
    # nothing decides between father and son: neither gets the mention
    assert pid(res, "ed:dad") not in {pid(res, "pol:sr"), pid(res, "pol:jr")}
    q = res.review[(res.review["key_a"] == "ed:dad") | (res.review["key_b"] == "ed:dad")]
    assert len(q) == 2  # both candidates wait for a steward, with the reason
    assert {b["kept_apart"]["level"] for b in q["breakdown"]} == {"ambiguous_name_only"}
    assert pid(res, "pol:sr") != pid(res, "pol:jr")


def test_a_typo_in_the_fathers_records_does_not_hand_the_mention_to_his_son(fitted, base):
    # the father's record misspells his forename, so the mention scores better on the son
    rows, rels = _father_son("2018-05-01", sr_forename="kwmae")
    res = link(fitted, rows, base, relationships=rels)
    # ...who was 19 at her birth: the one plausible parent still gets it
    assert pid(res, "ed:dad") == pid(res, "pol:sr")


def test_namesakes_a_generation_apart_both_of_parent_age_go_to_review(fitted, base):
    rows, rels = _father_son("2021-05-01", sr_forename="kwmae")  # 22 and 61
    no_rule = loads_spec(
        DEFAULT_SPEC_PATH.read_text().replace(
            "namesake_generation_years = 12", "namesake_generation_years = 0"
        )
    )
    # the weights alone prefer the son, whose forename is spelt the same way
    assert pid(link(fitted, rows, base, no_rule, relationships=rels), "ed:dad") == pid(
        link(fitted, rows, base, no_rule, relationships=rels), "pol:jr"
    )
    res = link(fitted, rows, base, relationships=rels)
    assert pid(res, "ed:dad") not in {pid(res, "pol:sr"), pid(res, "pol:jr")}
    q = res.review[(res.review["key_a"] == "ed:dad") | (res.review["key_b"] == "ed:dad")]
    assert {b["kept_apart"]["level"] for b in q["breakdown"]} == {"ambiguous_name_only"}


def test_comparer_uses_the_models_learned_variants(fitted):
    rows = pd.DataFrame(
        [
            mention("a", forename_m="kasia", surname_m="nowak", dob="1990-01-02"),
            mention("b", forename_m="katarzyna", surname_m="nowak", dob="1990-01-02"),
        ]
    )
    k = fitted.spec.names.index("forename")
    labels = fitted.spec.comparisons[k].labels
    model = copy.deepcopy(fitted.model)
    model.name_variants = [("kasia", "katarzyna")]
    with_pairs = fitted.comparer(rows, model).compare(np.array([0]), np.array([1]))
    assert labels[with_pairs.levels[0, k]] == "nickname"
    model.name_variants = []
    without = fitted.comparer(rows, model).compare(np.array([0]), np.array([1]))
    assert labels[without.levels[0, k]] != "nickname"
