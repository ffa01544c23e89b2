"""Values held once per distinct value (memory at a million mentions), never changed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpgraph.linkage.blocking import variant_block_table
from cpgraph.linkage.service import MENTION_COLUMNS, _SharedValues
from cpgraph.linkage.standardise import (
    FINGERPRINT_COLUMNS,
    fingerprint,
    name_variants,
    standardise,
)


def _frame() -> pd.DataFrame:
    n = 9
    df = pd.DataFrame({c: [None] * n for c in FINGERPRINT_COLUMNS}, dtype=object)
    df["forename_m"] = ["ann", "ann", None, "bob", np.nan, "ann", "cy", None, "bob"]
    df["surname_m"] = ["lee"] * 4 + ["poole jnr"] * 5
    df["aliases_m"] = [[], ["a b"], [], [], ["x"], [], [], [], []]
    df["nhs_number_valid"] = [True, False, None, True, True, False, None, True, True]
    df["dob"] = ["2001-02-03", np.nan, None, "2001-02-03", "", "1999-01-01", None, "x", "x"]
    df["system"] = ["a", "a", "b", "b", "a", "a", "b", "b", "a"]
    df["key"] = [f"k{i}" for i in range(n)]
    df["kind"] = ["person"] * n
    return df


def test_fingerprint_is_the_hash_of_every_column_as_text():
    df = _frame()
    cols = [c for c in FINGERPRINT_COLUMNS if c in df.columns]
    want = pd.util.hash_pandas_object(df[cols].astype(str), index=False).to_numpy()
    np.testing.assert_array_equal(fingerprint(df), want)
    # None and NaN stay different texts ("None", "nan"), as astype(str) writes them
    other = df.copy()
    other.loc[2, "dob"] = np.nan  # was None
    assert fingerprint(other)[2] != fingerprint(df)[2]
    assert (fingerprint(other) == fingerprint(df)).sum() == len(df) - 1


def test_standardised_strings_are_shared_per_distinct_value(spec):
    s = standardise(_frame(), spec)
    assert s["src"].tolist() == [f"{g}:person" for g in "aabbaabba"]
    assert s["src"].iloc[0] is s["src"].iloc[1] and s["src"].iloc[2] is s["src"].iloc[3]
    assert s["initials"].tolist() == ["al", "al", None, "bl", None, "ap", "cp", None, "bp"]
    assert s["initials"].iloc[0] is s["initials"].iloc[1]
    vt = variant_block_table(s, name_variants(s), spec)
    ini = vt["initials"].to_numpy(object)
    firsts = {}
    for x in ini.tolist():
        if x is not None:
            assert firsts.setdefault(x, x) is x  # one object per distinct value
    assert set(firsts) >= {"al", "bl", "ap"}


def test_read_pages_share_equal_strings_but_not_keys():
    shared = _SharedValues(MENTION_COLUMNS, unique=("key", "row_hash"))
    k = MENTION_COLUMNS.index
    row = [None] * len(MENTION_COLUMNS)
    a = list(row)
    a[k("key")], a[k("surname")], a[k("row_hash")] = "k1", "".join(["sm", "ith"]), "h"
    b = tuple(
        "".join(["sm", "ith"]) if c == "surname" else ("k2" if c == "key" else None)
        for c in MENTION_COLUMNS
    )
    p1 = shared([a])
    p2 = shared([b])  # a driver's tuple comes back as a list
    assert isinstance(p2[0], list) and p2[0][k("key")] == "k2"
    assert p1[0][k("surname")] == p2[0][k("surname")] == "smith"
    assert p1[0][k("surname")] is p2[0][k("surname")]
    assert p1[0][k("row_hash")] == "h" and p1[0][k("key")] == "k1"


def test_mutual_partners_share_one_breakdown(spec, pop):
    from cpgraph.linkage import LinkageEngine

    a = LinkageEngine(spec).link(pop[0]).assignments
    by_key = a.set_index("key")
    mutual = [
        (k, p)
        for k, p in zip(a["key"], a["partner_key"], strict=True)
        if p is not None and by_key.at[p, "partner_key"] == k and k < p
    ]
    assert mutual
    for k, p in mutual:
        one, other = by_key.at[k, "breakdown"], by_key.at[p, "breakdown"]
        assert one is other and isinstance(one, dict) and "prior" in one
    # every linked mention still has its own best pair's breakdown
    linked = a[a["partner_key"].notna()]
    assert linked["breakdown"].map(lambda d: isinstance(d, dict) and len(d) > 2).all()


def test_cannot_links_read_a_chunk_at_a_time_decide_as_the_whole_arrays():
    from cpgraph.linkage.arrays import isin, unique_sorted
    from cpgraph.linkage.clustering import kept_apart, same_label

    rng = np.random.default_rng(3)
    n = 500
    labels = rng.integers(0, 60, n).astype(np.int64)  # many records per person
    ci = rng.integers(0, n, 2_000).astype(np.int32)
    cj = rng.integers(0, n, 2_000).astype(np.int32)
    for chunk in (7, 1_000, 10_000):  # chunks that split the pairs, and one that does not
        np.testing.assert_array_equal(
            same_label(labels, ci, cj, chunk=chunk), labels[ci] == labels[cj]
        )
    la, lb = labels[ci].astype(np.int64), labels[cj].astype(np.int64)
    every = unique_sorted(np.minimum(la, lb) * n + np.maximum(la, lb))
    qa, qb = rng.integers(0, 60, 3_000), rng.integers(0, 60, 3_000)
    want = isin(np.minimum(qa, qb) * n + np.maximum(qa, qb), every)
    assert want.any() and not want.all()
    for chunk in (7, 1_000, 10_000):
        got = kept_apart(labels, ci, cj, qa, qb, chunk=chunk)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(kept_apart(labels, ci, cj, qb, qa, chunk=chunk), want)
    assert not kept_apart(labels, ci[:0], cj[:0], qa, qb).any()


def test_a_handed_over_mentions_frame_is_freed_once_standardised(spec, pop, monkeypatch):
    import gc
    import weakref

    from cpgraph.linkage import LinkageEngine

    engine = LinkageEngine(spec)
    frame = pop[0].copy()
    ref = weakref.ref(frame)
    alive: list[bool] = []
    prepare = LinkageEngine._prepare_standardised

    def preparing(self, *a, **kw):
        gc.collect()
        alive.append(ref() is not None)  # (the ref of the frame in the current call)
        return prepare(self, *a, **kw)

    monkeypatch.setattr(LinkageEngine, "_prepare_standardised", preparing)
    box = [frame]
    del frame
    result = engine.link(box.pop())
    # the frame was gone once standardised, before the comparison tables were built
    assert alive == [False]
    assert len(result.assignments) == len(pop[0])
    # a caller that keeps its frame keeps it (the engine only drops its own reference)
    kept = pop[0].copy()
    ref = weakref.ref(kept)
    engine.link(kept)
    assert alive == [False, True]


def test_write_columns_are_what_the_write_stage_reads_as_copies():
    from cpgraph.linkage.service import WRITE_COLUMNS, write_columns

    df = _frame()
    df["agency"] = ["health"] * len(df)
    df["forename"] = df["forename_m"]
    df["surname"] = df["surname_m"]
    df["row_hash"] = [f"h{i}" for i in range(len(df))]
    slim = write_columns(df)
    assert list(slim.columns) == list(WRITE_COLUMNS)
    for c in WRITE_COLUMNS:
        assert slim[c].tolist() == df[c].tolist()
        assert not np.shares_memory(slim[c].to_numpy(), df[c].to_numpy())
    assert slim["surname"].iloc[0] is df["surname"].iloc[0]  # the strings themselves shared


def test_prepared_records_are_freed_once_nothing_reads_them(spec, pop, monkeypatch):
    import gc
    import weakref

    from cpgraph.linkage import LinkageEngine

    refs: list[weakref.ref] = []
    seen: dict[str, object] = {}
    prepare, cluster, assign = (
        LinkageEngine._prepare_standardised,
        LinkageEngine._cluster_stage,
        LinkageEngine._assignments,
    )

    def preparing(self, *a, **kw):
        prep = prepare(self, *a, **kw)
        refs.append(weakref.ref(prep.s))
        return prep

    def clustering(self, prep, *a, **kw):
        seen["block_table_rows"] = len(prep.vtable)
        return cluster(self, prep, *a, **kw)

    def assigning(self, *a, **kw):
        gc.collect()
        seen["records_alive"] = refs[-1]() is not None
        return assign(self, *a, **kw)

    monkeypatch.setattr(LinkageEngine, "_prepare_standardised", preparing)
    monkeypatch.setattr(LinkageEngine, "_cluster_stage", clustering)
    monkeypatch.setattr(LinkageEngine, "_assignments", assigning)
    result = LinkageEngine(spec).link(pop[0])
    # the block table is emptied after scoring, the standardised records (and the
    # comparer holding them) before the breakdowns are built
    assert seen == {"block_table_rows": 0, "records_alive": False}
    assert result.review is not None and len(result.assignments) == len(pop[0])


def test_cannot_links_in_parts_decide_as_one_concatenated_array():
    from cpgraph.linkage.clustering import (
        cannot_count,
        constrained_components,
        kept_apart,
        same_label,
    )

    rng = np.random.default_rng(11)
    n = 400
    ei, ej = rng.integers(0, n, 900), rng.integers(0, n, 900)
    w = rng.normal(5, 3, 900)
    prio = rng.choice([0, 1, 2, 2, 2], 900)
    ci, cj = rng.integers(0, n, 700).astype(np.int32), rng.integers(0, n, 700).astype(np.int32)
    cs = rng.random(700) < 0.1
    cut = (0, 50, 640, 700)  # three parts, as a round passes them
    cs[50:640] = False  # (the scored cannot-links' part: never a steward's)
    assert cs.any()
    parts = [(ci[a:b], cj[a:b], cs[a:b]) for a, b in zip(cut, cut[1:], strict=False)]
    pi, pj, ps = (tuple(p[k] for p in parts) for k in range(3))
    assert cannot_count(pi) == len(ci) == 700
    whole, whole_same = constrained_components(n, ei, ej, w, prio, ci, cj, cs)
    split, split_same = constrained_components(n, ei, ej, w, prio, pi, pj, ps)
    np.testing.assert_array_equal(split, whole)
    np.testing.assert_array_equal(split_same, whole_same)
    # the cannot-links mattered: without them more records end up together
    free, _ = constrained_components(n, ei, ej, w, prio, ci[:0], cj[:0], cs[:0])
    assert len(np.unique(free)) < len(np.unique(whole))
    # a part of False as a read-only view, as the scored cannot-links' steward flags
    viewed = (ps[0], np.broadcast_to(np.False_, len(pi[1])), ps[2])
    np.testing.assert_array_equal(
        constrained_components(n, ei, ej, w, prio, pi, pj, viewed)[0], whole
    )
    for chunk in (7, 10_000):
        np.testing.assert_array_equal(
            same_label(whole, pi, pj, chunk=chunk), whole[ci] == whole[cj]
        )
    # queries: half of them cannot-linked pairs themselves, half any two records
    qa = np.concatenate([ci[:150], rng.integers(0, n, 150)])
    qb = np.concatenate([cj[:150], rng.integers(0, n, 150)])
    apart = kept_apart(whole, ci, cj, qa, qb)
    assert apart.any() and not apart.all()  # (a case where the answer is not one value)
    np.testing.assert_array_equal(kept_apart(whole, pi, pj, qa, qb, chunk=13), apart)


def test_union_find_holds_one_int_object_per_record(monkeypatch):
    import cpgraph.linkage.clustering as clustering

    shared: list[bool] = []
    add = clustering._UnionFind.add_cannot

    def adding(self, a, b, steward):
        shared.append(a is self.ints[a] and b is self.ints[b])
        return add(self, a, b, steward)

    monkeypatch.setattr(clustering._UnionFind, "add_cannot", adding)
    n = 2_000  # positions beyond CPython's cached small ints
    ei, ej = np.arange(n - 1), np.arange(1, n)  # one chain: every cannot-link is inside
    ci, cj = np.array([300, 1_500], np.int32), np.array([1_200, 1_900], np.int32)
    labels, _ = clustering.constrained_components(
        n, ei, ej, np.ones(n - 1), np.full(n - 1, 2), ci, cj, np.zeros(2, bool)
    )
    assert shared == [True, True]
    assert labels[300] != labels[1_200] and labels[1_500] != labels[1_900]


def test_relatives_coded_for_some_records_share_kin_as_the_whole_table():
    from cpgraph.linkage.relationships import kin_table, share_kin

    rng = np.random.default_rng(5)
    n = 300
    fn = rng.choice(np.array(["ann", "bo", "cy", None], dtype=object), n)
    sn = rng.choice(np.array(["lee", "poole", None], dtype=object), n)
    s = pd.DataFrame({"fn": fn, "sn": sn})
    rels = pd.DataFrame({"from_pos": rng.integers(0, n, 400), "to_pos": rng.integers(0, n, 400)})
    i, j = rng.integers(0, n, 250), rng.integers(0, n, 250)
    whole = share_kin(kin_table(s, rels), i, j, None)
    assert whole.any() and not whole.all()
    some = kin_table(s, rels, only=np.concatenate([i, j]))
    np.testing.assert_array_equal(share_kin(some, i, j, None), whole)
    # only the records asked about, and names coded for their relatives alone
    assert set(some["pos"]) <= set(i) | set(j) and len(some) < len(kin_table(s, rels))


def test_the_review_codes_relatives_of_its_pairs_records_only(spec, pop, monkeypatch):
    import cpgraph.linkage.engine as engine_module
    from cpgraph.linkage import LinkageEngine

    from .conftest import mention

    # namesakes at two addresses (a review pair), each naming her mother
    who = dict(forename_m="ingrid", surname_m="lukasik", dob="1985-03-04", sex="F")
    extra = [
        mention("cs:x", system="cs", kind="person", postcode="B15 2TT", **who),
        mention("pol:x", system="pol", kind="nominal", postcode="CV1 9ZZ", **who),
        mention("cs:m", system="cs", kind="person", forename_m="olga", surname_m="lukasik"),
        mention("pol:m", system="pol", kind="nominal", forename_m="zofia", surname_m="nowak"),
    ]
    mentions = pd.concat([pop[0], pd.DataFrame(extra)], ignore_index=True)
    keys = mentions["key"].tolist()
    rels = pd.DataFrame(
        [("cs:x", "cs:m", "mother"), ("pol:x", "pol:m", "mother")],
        columns=["from_key", "to_key", "relationship"],
    )
    asked: list[object] = []
    table = engine_module.kin_table

    def spying(s, r, only=None):
        asked.append(only)
        return table(s, r, only)

    monkeypatch.setattr(engine_module, "kin_table", spying)
    got = LinkageEngine(spec).link(mentions, rels).review
    review_asks = [x for x in asked if x is not None]
    assert len(got) and len(review_asks) == 1
    pos = {k: p for p, k in enumerate(keys)}
    records = {pos[k] for k in got["key_a"]} | {pos[k] for k in got["key_b"]}
    assert set(review_asks[0].tolist()) == records
    # the evidence is what the whole table gives
    monkeypatch.setattr(engine_module, "kin_table", lambda s, r, only=None: table(s, r))
    want = LinkageEngine(spec).link(mentions, rels).review
    pd.testing.assert_frame_equal(got, want)


def test_relatives_names_are_coded_without_a_string_per_record():
    import tracemalloc

    from cpgraph.linkage.relationships import kin_table

    rng = np.random.default_rng(1)
    n = 100_000
    fn = np.array([f"f{x}" for x in rng.integers(0, 3_000, n)], dtype=object)
    sn = np.array([f"s{x}" for x in rng.integers(0, 5_000, n)], dtype=object)
    fn[::17] = None
    sn[::23] = np.nan
    s = pd.DataFrame({"fn": fn, "sn": sn})
    ends = rng.integers(0, n, (2, 3_000))
    rels = pd.DataFrame({"from_pos": ends[0], "to_pos": ends[1]})
    tracemalloc.start()
    try:
        kin = kin_table(s, rels)
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        # what a "forename|surname" string per record alone takes
        names = pd.Series(fn).fillna("") + "|" + pd.Series(sn).fillna("")
        strings = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # (about half of it now; all of it and more when the table built those strings)
    assert kin is not None and used < 0.75 * strings
    # equal codes for equal (forename, surname), -1 where either is missing
    code = kin["name"].to_numpy()
    rel = kin["rel"].to_numpy()
    missing = pd.isna(fn[rel]) | pd.isna(sn[rel])
    assert ((code == -1) == missing).all() and missing.any()
    text = names.to_numpy(object)[rel]
    by_text = pd.Series(code[~missing]).groupby(text[~missing]).nunique()
    by_code = pd.Series(text[~missing]).groupby(code[~missing]).nunique()
    assert (by_text == 1).all() and (by_code == 1).all() and len(by_text) > 100


def test_the_cohesion_check_scores_its_pairs_a_step_at_a_time(spec, pop, monkeypatch):
    import cpgraph.linkage.engine as engine_module
    from cpgraph.linkage import LinkageEngine
    from cpgraph.linkage.scoring import Scorer

    checking = [False]
    sizes: list[int] = []
    split, score = engine_module.split_incohesive, Scorer.score

    def splitting(*a, **kw):
        checking[0] = True
        try:
            return split(*a, **kw)
        finally:
            checking[0] = False

    def scoring(self, i, j, *a, **kw):
        if checking[0]:
            sizes.append(len(i))
        return score(self, i, j, *a, **kw)

    monkeypatch.setattr(engine_module, "split_incohesive", splitting)
    monkeypatch.setattr(Scorer, "score", scoring)
    whole = LinkageEngine(spec).link(pop[0])
    asked = sum(sizes)
    assert len(sizes) == 1 and asked > 40  # (one batch of every within-cluster pair)
    sizes.clear()
    monkeypatch.setattr(engine_module, "COHESION_CHUNK", 13)
    steps = LinkageEngine(spec).link(pop[0])
    assert sum(sizes) == asked and max(sizes) <= 13 and len(sizes) > 3
    pd.testing.assert_frame_equal(steps.assignments, whole.assignments)
    pd.testing.assert_frame_equal(steps.review, whole.review)


def test_edges_concatenated_a_column_at_a_time_with_views_and_consumed_parts():
    from cpgraph.linkage.stages import Edges

    def table(n: int, at: int) -> Edges:
        r = np.arange(at, at + n)
        return Edges(
            r, r + 1, r * 0.5, r * 0.25, np.array([f"m{x}" for x in r], object), r % 3,
            r % 2 == 0, np.tile(r[:, None] % 4, (1, 3)).astype(np.int8),
            np.tile(r[:, None], (1, 3)).astype(np.float32), (r % 5).astype(np.int8),
        )  # fmt: skip

    a, b, c = table(3, 0), table(5, 3), table(2, 8)
    want = Edges.concat([table(3, 0), table(5, 3), table(2, 8)])
    b_cannot = b.cannot
    got = Edges.concat([a, b, c], views=[(b, 3)], consume=[c])
    for f in Edges.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(got, f), getattr(want, f))
        np.testing.assert_array_equal(getattr(b, f), getattr(table(5, 3), f))
        assert len(getattr(c, f)) == 0  # consumed: its columns are freed
    for f in ("i", "j", "weight", "levels", "comp_w", "method"):
        assert np.shares_memory(getattr(b, f), getattr(got, f))  # a view, not a copy
    # a table's cannot-links and kept marks stay its own (age clashes mark a copy)
    assert b.cannot is b_cannot and not np.shares_memory(b.kept, got.kept)


def test_the_scored_edges_are_views_of_the_runs_edges_and_so_is_the_state(fitted, pop, monkeypatch):
    """One table of the kept edges from the cluster stage on: the scored edges (the
    state's) are views of the run's, relationship rounds included; the same outcome."""
    from cpgraph.linkage.engine import LinkageEngine
    from cpgraph.linkage.stages import Edges

    from .conftest import mention

    # a relative without an address found at her child's home: a relationship round
    rows = [
        mention("h:kid", system="h", forename_m="mia", surname_m="smith",
                dob="2019-02-03", postcode="WV10 6PP", sex="F"),
        mention("h:mum", system="h", forename_m="grace", surname_m="smith"),
        mention("p:mum", system="p", forename_m="grace", surname_m="smith",
                dob="1990-05-05", postcode="WV10 6PP", sex="F"),
    ]  # fmt: skip
    df = pd.concat([pop[0], pd.DataFrame(rows)], ignore_index=True)
    rels = pd.DataFrame(
        [("h:kid", "h:mum", "mother")], columns=["from_key", "to_key", "relationship"]
    )
    seen: dict[str, object] = {}
    cluster, to_frame = LinkageEngine._cluster_stage, LinkageEngine._edges_to_frame

    def clustering(self, prep, scored, decisions):
        out = cluster(self, prep, scored, decisions)
        seen["rel_edges"] = len(out.rel_edges.i)
        seen["base_is_view"] = all(
            np.shares_memory(getattr(scored.base, f), getattr(out.edges, f))
            for f in ("i", "j", "weight", "levels", "comp_w")
        )
        return out

    def framing(self, e, keys):
        frame = to_frame(self, e, keys)
        seen["state_is_view"] = np.shares_memory(frame["weight"].to_numpy(), e.weight)
        return frame

    monkeypatch.setattr(LinkageEngine, "_cluster_stage", clustering)
    monkeypatch.setattr(LinkageEngine, "_edges_to_frame", framing)
    got = fitted.link(df, rels, model=fitted.model)
    assert seen == {"rel_edges": seen["rel_edges"], "base_is_view": True, "state_is_view": True}
    assert seen["rel_edges"] > 0
    # the same run with whole copies (the plain concatenation, a copied state frame)
    plain = Edges.concat

    def copying(parts, *, views=(), consume=()):
        return Edges(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in Edges.__dataclass_fields__)
        )

    monkeypatch.setattr(Edges, "concat", staticmethod(copying))
    monkeypatch.setattr(LinkageEngine, "_edges_to_frame", lambda s, e, k: to_frame(s, e, k).copy())
    want = fitted.link(df, rels, model=fitted.model)
    monkeypatch.setattr(Edges, "concat", staticmethod(plain))
    pd.testing.assert_frame_equal(got.assignments, want.assignments)
    pd.testing.assert_frame_equal(got.review, want.review)
    pd.testing.assert_frame_equal(got.state.edges, want.state.edges)
    pd.testing.assert_frame_equal(got.state.cannot, want.state.cannot)


def test_prepared_records_keep_positions_once_not_as_a_dict_too(fitted, pop, monkeypatch):
    """The engine's key → position Series serves the relationship functions (their
    frame is resolved once): no dict of every key beside it (~60 bytes a mention)."""
    from cpgraph.linkage.engine import LinkageEngine

    df = pop[0]
    keys = df["key"].tolist()
    rels = pd.DataFrame(
        [(keys[k], keys[k + 1], "mother") for k in range(0, 40, 2)],
        columns=["from_key", "to_key", "relationship"],
    )
    held: list[object] = []
    prepare = LinkageEngine._prepare_standardised

    def preparing(self, *a, **kw):
        prep = prepare(self, *a, **kw)
        held.extend(v for v in vars(prep).values() if isinstance(v, dict))
        return prep

    monkeypatch.setattr(LinkageEngine, "_prepare_standardised", preparing)
    res = fitted.link(df, rels, model=fitted.model)
    assert held == [] and len(res.assignments) == len(df)


def _anchor_pairs_by_merge(anc: pd.DataFrame, labels: np.ndarray):
    """The pairs as a self-merge of the anchor table made them (the reference)."""
    from cpgraph.linkage.relationships import MAX_ANCHOR_GROUP

    size = anc.groupby(["anchor", "group"])["rec"].transform("size")
    anc = anc[(size >= 2) & (size <= MAX_ANCHOR_GROUP)]
    m = anc.merge(anc, on=["anchor", "group"], suffixes=("_a", "_b"))
    a, b = m["rec_a"].to_numpy(np.int64), m["rec_b"].to_numpy(np.int64)
    keep = (a < b) & (labels[a] != labels[b])
    return np.unique(np.stack([a[keep], b[keep]], axis=1), axis=0)


def test_anchor_pairs_are_made_a_chunk_at_a_time_without_a_self_merge(monkeypatch):
    import cpgraph.linkage.relationships as rel_module

    rng = np.random.default_rng(3)
    n = 3000
    labels = rng.integers(0, 1500, n)
    anc = pd.DataFrame(
        {
            "rec": rng.integers(0, n, 6000),
            "anchor": rng.integers(0, 400, 6000),
            "group": rng.choice(np.array(["parent", "child", "partner"], object), 6000),
        }
    ).drop_duplicates(ignore_index=True)
    # a group too large to be one family, which makes no pairs
    big = pd.DataFrame({"rec": np.arange(60), "anchor": 999, "group": "child"})
    # and rows with no group, in none
    none = pd.DataFrame({"rec": [5, 6, 7], "anchor": 998, "group": [None] * 3})
    anc = pd.concat([anc, big, none], ignore_index=True)
    want = _anchor_pairs_by_merge(anc, labels)
    assert len(want) > 1000

    def no_merge(*a, **kw):
        raise AssertionError("a self-merge of the anchor table")

    monkeypatch.setattr(pd.DataFrame, "merge", no_merge)
    for chunk in (1, 7, 500, 10**9):
        monkeypatch.setattr(rel_module, "ANCHOR_PAIR_CHUNK", chunk)
        a, b = rel_module.anchor_pairs(anc, labels)
        np.testing.assert_array_equal(np.stack([a, b], axis=1), want)


def _anchors_as_frames(rels, pos, labels, co_parents=True):
    """The anchor table as it was made with frames (the reference)."""
    from cpgraph.linkage.relationships import (
        INVERSE_GROUP,
        MAX_ANCHOR_GROUP,
        _groups,
        _rel_positions,
    )

    f, t, r = _rel_positions(rels, pos)
    g = _groups(rels, r)
    ok = pd.notna(g)
    f, t, g = f[ok], t[ok], g[ok]
    inv = pd.Series(g).map(INVERSE_GROUP).to_numpy()
    parts = [
        pd.DataFrame({"rec": t, "anchor": labels[f], "group": g}),
        pd.DataFrame({"rec": f, "anchor": labels[t], "group": inv}),
    ]
    e = pd.DataFrame({"c": labels[f], "x": t, "g": g})
    pop, par = e[e["g"] == "partner_of_parent"], e[e["g"] == "parent"]
    if not pop.empty and not par.empty:
        d = pop.merge(par, on="c", suffixes=("", "_p"))
        x, xp = d["x"].to_numpy(), d["x_p"].to_numpy()
        parts.append(pd.DataFrame({"rec": x, "anchor": labels[xp], "group": "partner"}))
    a = pd.concat(parts, ignore_index=True).dropna()
    par = a[a["group"] == "parent"] if co_parents else a.iloc[:0]
    if not par.empty:
        size = par.groupby("anchor")["rec"].transform("size")
        par = par[(size >= 2) & (size <= MAX_ANCHOR_GROUP)]
        d = par.merge(par, on="anchor", suffixes=("", "_o"))
        d = d[labels[d["rec"].to_numpy()] != labels[d["rec_o"].to_numpy()]]
        ro = labels[d["rec_o"].to_numpy()]
        more = pd.DataFrame({"rec": d["rec"].to_numpy(), "anchor": ro, "group": "partner"})
        a = pd.concat([a, more], ignore_index=True)
    a["anchor"] = a["anchor"].astype(np.int64)
    a["rec"] = a["rec"].astype(np.int64)
    a = a[labels[a["rec"].to_numpy()] != a["anchor"].to_numpy()]
    return a.drop_duplicates(ignore_index=True)


def test_the_anchor_table_made_as_arrays_equals_the_frames_one(monkeypatch):
    from cpgraph.linkage.relationships import ROLE_GROUP, anchors, resolve_positions

    rng = np.random.default_rng(4)
    n = 2000
    keys = np.array([f"k{x}" for x in range(n)], object)
    roles = np.array(sorted(ROLE_GROUP) + ["stranger"], object)  # (one with no group)
    rels = pd.DataFrame(
        {
            "from_key": keys[rng.integers(0, n, 5000)],
            "to_key": keys[rng.integers(0, n, 5000)],
            "relationship": rng.choice(roles, 5000),
        }
    )
    pos = pd.Series(np.arange(n), index=keys)
    labels = rng.integers(0, 700, n)
    resolved = resolve_positions(rels, pos)
    for r, p in ((rels, pos.to_dict()), (resolved, pos)):
        for co in (True, False):
            want = _anchors_as_frames(r, p, labels, co)
            assert (want["group"] == "partner").sum() > 10 and len(want) > 5000
            pd.testing.assert_frame_equal(anchors(r, p, labels, co_parents=co), want)

    # and in less memory than the frames took (a relationship round's largest table)
    import tracemalloc

    peaks = []
    for make in (_anchors_as_frames, anchors):
        tracemalloc.start()
        make(resolved, pos, labels)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 0.8 * peaks[0]


def test_column_codes_are_held_as_int32_and_compare_as_int64_ones(spec, pop):
    from cpgraph.linkage import LinkageEngine

    comparer = LinkageEngine(spec).comparer(pop[0])
    rng = np.random.default_rng(5)
    n = len(pop[0])
    i, j = rng.integers(0, n, 4000), rng.integers(0, n, 4000)
    got = comparer.compare(i, j)
    assert comparer._col_codes and all(c.dtype == np.int32 for c, _ in comparer._col_codes.values())
    comparer._col_codes = {k: (c.astype(np.int64), u) for k, (c, u) in comparer._col_codes.items()}
    want = comparer.compare(i, j)
    np.testing.assert_array_equal(got.levels, want.levels)
    assert got.tf_values.keys() == want.tf_values.keys()
    for k in got.tf_values:
        np.testing.assert_array_equal(got.tf_values[k], want.tf_values[k])


def _relationship_rows_at_once(a: pd.DataFrame, rels: pd.DataFrame, run_id: str) -> list[dict]:
    """The ``RELATED_TO`` rows as they were made, all at once (the reference)."""
    from cpgraph.linkage.service import _missing

    person_of = dict(zip(a["key"], a["person_id"], strict=True))
    groups: dict = {}
    for fk, tk, rel, lives, fd, td in zip(
        rels["from_key"], rels["to_key"], rels["relationship"], rels["lives_with"],
        rels["from_date"], rels["to_date"], strict=True,
    ):  # fmt: skip
        fid, tid = person_of.get(fk), person_of.get(tk)
        if _missing(fid) or _missing(tid) or fid == tid or _missing(rel):
            continue
        g = groups.setdefault((fid, tid, rel), [False, False, [], [], False, set()])
        if not _missing(lives):
            g[0], g[1] = True, g[1] or bool(lives)
        if not _missing(fd):
            g[2].append(fd)
        if _missing(td):
            g[4] = True
        else:
            g[3].append(td)
        g[5] |= {fk, tk}
    return [
        {
            "from_id": fid, "to_id": tid, "relationship": rel,
            "lives_with": g[1] if g[0] else None,
            "from_date": str(min(g[2])) if g[2] else None,
            "to_date": None if g[4] or not g[3] else str(max(g[3])),
            "sources": sorted(g[5]), "run_id": run_id,
        }
        for (fid, tid, rel), g in sorted(groups.items(), key=lambda kv: kv[0])
    ]  # fmt: skip


def _related(seed: int = 6) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    keys = np.array([f"k{x}" for x in range(300)], object)
    a = pd.DataFrame({"key": keys, "person_id": [f"P{x}" for x in rng.integers(0, 120, 300)]})
    n = 2000
    dates = np.array([None, np.nan, "2019-01-02", "2020-05-06", "2018-12-31"], object)
    rels = pd.DataFrame(
        {
            "from_key": np.r_[keys[rng.integers(0, 300, n - 5)], ["nobody"] * 5],
            "to_key": keys[rng.integers(0, 300, n)],
            "relationship": rng.choice(np.array(["mother", "father", None], object), n),
            "lives_with": rng.choice(np.array([None, True, False, np.nan], object), n),
            "from_date": rng.choice(dates, n),
            "to_date": rng.choice(dates, n),
        }
    )
    return a, rels


def test_related_to_rows_made_one_at_a_time_equal_the_rows_made_at_once():
    from cpgraph.linkage.service import iter_relationship_rows, relationship_rows

    a, rels = _related()
    want = _relationship_rows_at_once(a, rels, "r1")
    assert len(want) > 500 and any(len(r["sources"]) > 2 for r in want)
    assert relationship_rows(a, rels, "r1") == want
    assert list(iter_relationship_rows(a, rels, "r1")) == want


async def test_a_full_run_writes_related_to_rows_as_they_are_made(tmp_path):
    """Each batch is written before the next batch's rows are made (never every edge's
    row at once), and the keys and digests kept for the next run are the same."""
    from types import SimpleNamespace

    from cpgraph.files import load_digests
    from cpgraph.linkage import service as service_module

    a, rels = _related()
    made = [0]
    iterate = service_module.iter_relationship_rows

    def counting(*args):
        for row in iterate(*args):
            made[0] += 1
            yield row

    written: list[tuple[int, int]] = []  # (rows made so far, rows in the batch)

    async def write_batches(name, rows, **kw):
        batch: list = []
        for row in rows:
            batch.append(row)
            if len(batch) == 100:
                written.append((made[0], len(batch)))
                batch = []
        if batch:
            written.append((made[0], len(batch)))

    async def query(name, **kw):
        return [{"deleted": 0}]

    store = SimpleNamespace(backend="fake", write_batches=write_batches, query=query)
    settings = SimpleNamespace(data_dir=tmp_path, graph_name="g")
    svc = service_module.LinkageService.__new__(service_module.LinkageService)
    svc.store, svc.settings = store, settings
    service_module.iter_relationship_rows = counting
    try:
        await svc._project_relationships(a, rels, "r1")
    finally:
        service_module.iter_relationship_rows = iterate
    want = _relationship_rows_at_once(a, rels, "r1")
    total = 0
    for so_far, size in written:
        total += size
        assert so_far == total  # no row made beyond the batch being written
    assert total == len(want)
    kept = load_digests(svc.related_path)
    assert kept == {service_module._edge_key(r): service_module._edge_digest(r) for r in want}


def test_pairs_are_scored_half_a_million_at_a_time_with_the_same_outcome(spec, pop, monkeypatch):
    import cpgraph.linkage.engine as engine_module
    from cpgraph.linkage import LinkageEngine

    # (the step's temporaries, ~300 bytes a pair, were the score stage's peak)
    assert engine_module.SCORE_CHUNK <= 500_000
    whole = LinkageEngine(spec).link(pop[0])
    monkeypatch.setattr(engine_module, "SCORE_CHUNK", 37)
    steps = LinkageEngine(spec).link(pop[0])
    pd.testing.assert_frame_equal(steps.assignments, whole.assignments)
    pd.testing.assert_frame_equal(steps.review, whole.review)
    pd.testing.assert_frame_equal(steps.state.edges, whole.state.edges)
    pd.testing.assert_frame_equal(steps.state.cannot, whole.state.cannot)


def test_each_records_best_edge_is_found_without_sorting_a_frame(spec, pop, monkeypatch):
    from cpgraph.linkage import LinkageEngine

    seen: dict = {}
    assign, sort_values = LinkageEngine._assignments, pd.DataFrame.sort_values

    def assigning(self, keys, labels, pids, e, breakdowns):
        seen.update(keys=keys, labels=labels, e=e, inside=True)
        try:
            return assign(self, keys, labels, pids, e, breakdowns)
        finally:
            seen["inside"] = False

    def sorting(self, *a, **kw):
        assert not seen.get("inside"), "a frame of both ends sorted whole"
        return sort_values(self, *a, **kw)

    monkeypatch.setattr(LinkageEngine, "_assignments", assigning)
    monkeypatch.setattr(pd.DataFrame, "sort_values", sorting)
    got = LinkageEngine(spec).link(pop[0]).assignments
    # the best edges as a frame sorted by record, priority and weight gave them
    keys, labels, e = seen["keys"], seen["labels"], seen["e"]
    idx = np.flatnonzero((labels[e.i] == labels[e.j]) & ~e.cannot)
    both = pd.DataFrame(
        {
            "rec": np.r_[e.i[idx], e.j[idx]],
            "other": np.r_[e.j[idx], e.i[idx]],
            "edge": np.r_[idx, idx],
        }
    )
    both["prio"], both["w"] = e.priority[both["edge"]], e.weight[both["edge"]]
    best = sort_values(both, ["rec", "prio", "w"], ascending=[True, True, False])
    best = best.drop_duplicates("rec")
    r, ed = best["rec"].to_numpy(), best["edge"].to_numpy()
    assert len(r) > 100
    np.testing.assert_array_equal(got["partner_key"].to_numpy()[r], keys[best["other"]])
    np.testing.assert_array_equal(got["probability"].to_numpy()[r], e.prob[ed])
    assert (got["method"].to_numpy()[r] == e.method[ed]).all()


def test_breakdowns_are_made_a_chunk_at_a_time_as_they_were_at_once(spec, pop, monkeypatch):
    import tracemalloc

    import cpgraph.linkage.engine as engine_module
    from cpgraph.linkage import LinkageEngine

    seen: dict = {}
    bds = LinkageEngine._bds

    def keeping(self, e, ks):
        seen.update(engine=self, e=e, ks=ks)
        return bds(self, e, ks)

    monkeypatch.setattr(LinkageEngine, "_bds", keeping)
    whole = LinkageEngine(spec).link(pop[0])
    engine, e, ks = seen["engine"], seen["e"], seen["ks"]
    assert len(ks) > 200
    # the breakdowns as the one-batch code made them: a dict per distinct edge of levels,
    # weights rounded to 3 places, the relationship and same-source parts, the prior
    at_once = []
    for k in ks.tolist():
        d = {
            name: {"level": (c.labels + ["missing"])[lv], "weight": round(float(w), 3)}
            for name, c, lv, w in zip(
                spec.names,
                spec.comparisons,
                e.levels[k].tolist(),
                e.comp_w[k].tolist(),
                strict=True,
            )
        }
        one = bds(engine, e, np.array([k]))[0]
        assert {n: one[n] for n in spec.names} == d
        at_once.append(one)
    for size in (1, 7, len(ks)):
        monkeypatch.setattr(engine_module, "BREAKDOWN_CHUNK", size)
        assert bds(engine, e, ks) == at_once, size
    # equal edges share one dict, across chunks too
    monkeypatch.setattr(engine_module, "BREAKDOWN_CHUNK", 7)
    made = bds(engine, e, ks)
    assert len({id(d) for d in made}) < len(made)
    # chunks bound the temporaries: the traced peak of many edges in steps of 50 is
    # lower than in one step
    many = np.tile(ks, max(1, 20_000 // len(ks)))
    peaks = []
    for size in (len(many), 50):
        monkeypatch.setattr(engine_module, "BREAKDOWN_CHUNK", size)
        tracemalloc.start()
        bds(engine, e, many)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 0.7 * peaks[0], peaks
    assert whole.assignments["breakdown"].notna().any()
