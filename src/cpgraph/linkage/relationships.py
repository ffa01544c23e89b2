"""Relationship-aware candidates: mentions in the same stated relationship to one person.

After a round of clustering, every stated relationship ``from_key → to_key`` (``to_key``
is the ``relationship`` of ``from_key``) gives ``to_key`` an *anchor*: (the resolved
person of ``from_key``, role group).  Two mentions with the same anchor — both "mother
of" the same child, both "partner of" the same woman, both visitors of one prisoner —
are candidates; names must still be compatible and nothing may contradict them.
A partner of a child's parent (``partner_of_parent``/``step_parent``) is also anchored as
"partner" of each of that child's stated parents, and two parents of one child are
anchored as each other's partner (co-parents: the mother of a prisoner's child and the
prisoner's partner).

Stated relationships are also hard evidence *against* links: a mention is never the same
person as the mention it states a relationship to, and a parent or grandparent is born
well before the child (:func:`year_bounds`), so a name-only "father of a 2014-born boy"
can never be the boy who shares his name.  Roles also tell a missing sex
(:func:`implied_sex`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cpgraph.linkage.arrays import isin, unique_sorted

# key → record position: a dict, or a Series indexed by key (the engine's own, which a
# resolved frame (:func:`resolve_positions`) never looks keys up in again)
Positions = Mapping[str, int] | pd.Series

ROLE_GROUP = {
    "mother": "parent",
    "father": "parent",
    "parent": "parent",
    "step_parent": "partner_of_parent",
    "partner_of_parent": "partner_of_parent",
    "step_mother": "partner_of_parent",
    "step_father": "partner_of_parent",
    "partner": "partner",
    "ex_partner": "partner",
    "wife": "partner",
    "husband": "partner",
    "grandparent": "grandparent",
    "aunt_uncle": "aunt_uncle",
    "sibling": "sibling",
    "child": "child",
    "step_child": "child",
    "partner_child": "child",
    "grandchild": "grandchild",
    "carer": "carer",
    "foster_carer": "carer",
    "relative": "associate",
    "friend": "associate",
    "visitor": "associate",
    "other": "associate",
}
INVERSE_GROUP = {
    "parent": "child",
    "child": "parent",
    "partner": "partner",
    "sibling": "sibling",
    "grandparent": "grandchild",
    "grandchild": "grandparent",
    "carer": "cared_for",
    "partner_of_parent": "partner_child",
    "aunt_uncle": "niece_nephew",
    "associate": "associate",
}
MAX_ANCHOR_GROUP = 50  # a larger group means the anchor is not one person's family
ANCHOR_PAIR_CHUNK = 500_000  # candidate pairs of anchor groups made at a time
# Sex implied by a stated role (``to_key`` is the ``relationship`` of ``from_key``).
ROLE_SEX = {
    "mother": "F",
    "step_mother": "F",
    "wife": "F",
    "father": "M",
    "step_father": "M",
    "husband": "M",
}
# Minimum generations between ``to_key`` and ``from_key`` implied by a role: +1 means
# ``to_key`` is a generation older (born at least ``gap`` years earlier), -1 younger.
ROLE_GENERATIONS = {
    "mother": 1,
    "father": 1,
    "parent": 1,
    "grandparent": 2,
    "child": -1,
    "grandchild": -2,
}


def anchors(
    rels: pd.DataFrame, pos: Positions, labels: np.ndarray, *, co_parents: bool = True
) -> pd.DataFrame:
    """Anchor table ``rec, anchor, group`` from stated relationships and cluster labels.

    Args:
        rels: ``from_key, to_key, relationship`` rows.
        pos: key → record position.
        labels: cluster label per record position.
        co_parents: anchor two parents of one child as each other's partner.

    Returns:
        One row per (mention, anchor person, role group), deduplicated.
    """
    if rels is None or rels.empty:
        return pd.DataFrame({"rec": [], "anchor": [], "group": []})
    f, t, r = _rel_positions(rels, pos)
    g = _groups(rels, r)
    ok = pd.notna(g)
    f, t, g = f[ok], t[ok], g[ok]
    # (columns as arrays, not frames concatenated, filtered and deduplicated in turn:
    # each copy of the table was ~50 bytes a relationship, at every relationship round)
    recs = [t, f]
    ancs = [labels[f], labels[t]]
    groups = [g, pd.Series(g, dtype=object).map(INVERSE_GROUP).to_numpy(object)]
    # partner of a child's parent → partner of that parent
    e = pd.DataFrame({"c": labels[f], "x": t, "g": g})
    pop = e[e["g"] == "partner_of_parent"]
    par = e[e["g"] == "parent"]
    del e
    if not pop.empty and not par.empty:
        d = pop.merge(par, on="c", suffixes=("", "_p"))
        recs.append(d["x"].to_numpy())
        ancs.append(labels[d["x_p"].to_numpy()])
        groups.append(np.full(len(d), "partner", object))
    rec, anc, grp = (np.concatenate(x) for x in (recs, ancs, groups))
    del recs, ancs, groups
    known = pd.notna(grp)  # (a role with no inverse anchors one way only)
    if not known.all():
        rec, anc, grp = rec[known], anc[known], grp[known]
    # two parents of one child: each is anchored as the other's partner
    is_par = grp == "parent" if co_parents else np.zeros(len(grp), bool)
    if is_par.any():
        par = pd.DataFrame({"rec": rec[is_par], "anchor": anc[is_par]})
        size = par.groupby("anchor")["rec"].transform("size")
        par = par[(size >= 2) & (size <= MAX_ANCHOR_GROUP)]
        d = par.merge(par, on="anchor", suffixes=("", "_o"))
        d = d[labels[d["rec"].to_numpy()] != labels[d["rec_o"].to_numpy()]]
        rec = np.concatenate([rec, d["rec"].to_numpy()])
        anc = np.concatenate([anc, labels[d["rec_o"].to_numpy()]])
        grp = np.concatenate([grp, np.full(len(d), "partner", object)])
        del par, size, d
    anc = anc.astype(np.int64, copy=False)
    rec = rec.astype(np.int64, copy=False)
    # a mention is never its own anchor; each (mention, anchor, group) once, the first
    # kept (as drop_duplicates would)
    gc, _ = pd.factorize(grp)
    m = max(int(anc.max(initial=0)), 0) + 1
    k = max(int(gc.max(initial=0)), 0) + 1
    code = rec * m
    code += anc
    code *= k
    code += gc
    keep = labels[rec] != anc
    keep &= ~pd.Series(code, copy=False).duplicated().to_numpy()
    del code, gc
    return pd.DataFrame({"rec": rec[keep], "anchor": anc[keep], "group": grp[keep]})


def anchor_pairs(anc: pd.DataFrame, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of mentions sharing an anchor and not already in one cluster (``i < j``)."""
    if anc.empty:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    # the pairs of each (anchor, group) made a chunk of members at a time, each once
    # (not a self-merge: both orders and each member with itself, as a frame, were
    # ~100 bytes a pair, the cluster stage's largest temporary at 1.29M mentions)
    g = anc.groupby(["anchor", "group"], sort=False).ngroup()
    ok = g.notna().to_numpy()  # (a missing anchor or group is in no group)
    gid = g.fillna(-1).to_numpy(np.int64)
    del g
    size = np.bincount(gid[ok])[np.where(ok, gid, 0)]
    ok &= (size >= 2) & (size <= MAX_ANCHOR_GROUP)
    gid = gid[ok]
    order = np.argsort(gid, kind="stable")
    gid = gid[order]
    rec = anc["rec"].to_numpy(np.int64)[ok][order]
    del size, ok
    k = np.arange(len(gid))
    first = np.r_[True, gid[1:] != gid[:-1]]
    start = np.maximum.accumulate(np.where(first, k, 0))
    end = np.r_[start[1:][first[1:]], len(gid)][np.cumsum(first) - 1]
    after = end - k - 1  # members after each one in its group: its pairs
    found = []
    st = 0
    while st < len(k):
        # members whose pairs make up to ANCHOR_PAIR_CHUNK (at least one member)
        stop = max(st + 1, int(np.searchsorted(np.cumsum(after[st:]), ANCHOR_PAIR_CHUNK)) + st)
        many = after[st:stop]
        p = np.repeat(k[st:stop], many)
        # each member's partners: the members after it in its group, in turn
        q = p + 1 + np.arange(len(p)) - np.repeat(np.cumsum(many) - many, many)
        a, b = np.minimum(rec[p], rec[q]), np.maximum(rec[p], rec[q])
        keep = labels[a] != labels[b]
        found.append((a[keep], b[keep]))
        st = stop
    a = np.concatenate([np.empty(0, np.int64), *(x[0] for x in found)])
    b = np.concatenate([np.empty(0, np.int64), *(x[1] for x in found)])
    del found
    if not len(a):
        return a, b
    n = int(max(a.max(), b.max())) + 1
    code = unique_sorted(a * n + b)
    return code // n, code % n


def resolve_positions(rels: pd.DataFrame, pos: Positions) -> pd.DataFrame:
    """Relationships whose both ends are known mentions, with their record positions.

    The result (columns ``from_pos``, ``to_pos``, lower-case ``relationship``, ``group``,
    ``apart`` besides the originals) can be passed to every function here in place of
    ``rels``: they then skip the key look-ups, which matters when relationship rounds
    call them again and again.

    Args:
        rels: ``from_key, to_key, relationship[, lives_with]`` rows.
        pos: key → record position.

    Returns:
        The resolved frame (a new frame; ``rels`` is not modified).
    """
    index = pos.index if isinstance(pos, pd.Series) else pd.Index(list(pos.keys()))
    values = (
        pos.to_numpy(np.int64)
        if isinstance(pos, pd.Series)
        else np.fromiter(pos.values(), np.int64, len(pos))
    )
    f = index.get_indexer(rels["from_key"].to_numpy(object))
    t = index.get_indexer(rels["to_key"].to_numpy(object))
    ok = (f >= 0) & (t >= 0)
    out = rels[ok].reset_index(drop=True).copy()
    out["from_pos"] = values[f[ok]]
    out["to_pos"] = values[t[ok]]
    out["relationship"] = out["relationship"].astype(str).str.lower()
    out["group"] = out["relationship"].map(ROLE_GROUP)
    if "lives_with" in out.columns:
        lw = out["lives_with"].to_numpy(object)
        out["apart"] = np.fromiter(
            (v is not None and v == v and not bool(v) for v in lw), bool, len(lw)
        )
    else:
        out["apart"] = False
    return out


def _groups(rels: pd.DataFrame, r: np.ndarray) -> np.ndarray:
    if "from_pos" in rels.columns:
        return rels["group"].to_numpy(object)
    return pd.Series(r).map(ROLE_GROUP).to_numpy(object)


def _rel_positions(rels: pd.DataFrame, pos: Positions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(from, to, relationship)`` arrays for relationships whose both ends are known."""
    if rels is None or rels.empty:
        z = np.empty(0, np.int64)
        return z, z, np.empty(0, object)
    if "from_pos" in rels.columns:  # already resolved (see resolve_positions)
        return (
            rels["from_pos"].to_numpy(np.int64),
            rels["to_pos"].to_numpy(np.int64),
            rels["relationship"].to_numpy(object),
        )
    f = rels["from_key"].map(pos)
    t = rels["to_key"].map(pos)
    ok = (f.notna() & t.notna()).to_numpy()
    return (
        f[ok].astype(np.int64).to_numpy(),
        t[ok].astype(np.int64).to_numpy(),
        rels["relationship"].astype(str).str.lower().to_numpy()[ok],
    )


def stated_pairs(
    rels: pd.DataFrame, pos: Positions, keys: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mention pairs that a source says are different people (``i < j``, unique).

    A mention is not its own relative; and (given ``keys``) two relatives one record lists
    in the same file (two contacts of one pupil, two RelatedPersons of one patient) are
    two people — a source does not list one relative twice.
    """
    f, t, _ = _rel_positions(rels, pos)
    keep = f != t
    a, b = np.minimum(f[keep], t[keep]), np.maximum(f[keep], t[keep])
    if keys is not None and len(t):
        kind = pd.Series(keys[t]).str.rsplit(":", n=1).str[0].to_numpy(object)
        d = pd.DataFrame({"f": f, "kind": kind, "t": t}).drop_duplicates()
        size = d.groupby(["f", "kind"])["t"].transform("size").to_numpy()
        d = d[(size >= 2) & (size <= MAX_ANCHOR_GROUP)]
        m = d.merge(d, on=["f", "kind"])
        x, y = m["t_x"].to_numpy(np.int64), m["t_y"].to_numpy(np.int64)
        co = x < y
        a, b = np.concatenate([a, x[co]]), np.concatenate([b, y[co]])
    if not len(a):
        return a, b
    n = int(b.max()) + 1
    code = unique_sorted(a * n + b)
    return code // n, code % n


def implied_sex(rels: pd.DataFrame, pos: Positions, n: int) -> np.ndarray:
    """Sex implied by the roles a mention is given (None when unknown or contradictory).

    Args:
        rels: ``from_key, to_key, relationship`` rows.
        pos: key → record position.
        n: number of records.

    Returns:
        Object array of ``"M"``, ``"F"`` or None per record.
    """
    out = np.full(n, None, dtype=object)
    f, t, r = _rel_positions(rels, pos)
    sx = pd.Series(r).map(ROLE_SEX).to_numpy(object)
    ok = pd.notna(sx)
    if not ok.any():
        return out
    d = pd.DataFrame({"rec": t[ok], "sex": sx[ok]}).drop_duplicates()
    single = d.groupby("rec")["sex"].transform("size") == 1  # "mother" and "father": unknown
    d = d[single.to_numpy()]
    out[d["rec"].to_numpy()] = d["sex"].to_numpy()
    return out


def year_bounds(
    rels: pd.DataFrame,
    pos: Positions,
    years: np.ndarray,
    gap: int,
    labels: np.ndarray | None = None,
    gap2: int | None = None,
    slips: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Birth-year bounds implied by generational roles.

    A mother or father of someone born in year y was born no later than ``y - gap``, a
    grandparent no later than ``y - gap2``; a child no earlier than ``y + gap``.  The
    relative's year is its own date of birth or, given ``labels``, the median year of its
    cluster.

    Args:
        rels: ``from_key, to_key, relationship`` rows.
        pos: key → record position.
        years: birth year per record (-1 unknown).
        gap: minimum years between a parent and a child.
        labels: optional cluster label per record.
        gap2: minimum years between a grandparent and a grandchild (default ``2*gap``).
        slips: a relative's year may be keyed with a slip.  Without ``labels`` each
            bound takes the more lenient of the year and its last two digits swapped
            (2021 typed 2012: :func:`swapped_years`); with ``labels``, the most lenient
            year any record of the relative's cluster gives (its resolved person's other
            records say which reading is right, and a swap no record supports counts
            no more).

    Returns:
        ``(lo, hi)`` float arrays per record (``-inf``/``inf`` when unbounded).
    """
    n = len(years)
    lo = np.full(n, -np.inf)
    hi = np.full(n, np.inf)
    f, t, r = _rel_positions(rels, pos)
    gen = pd.Series(r).map(ROLE_GENERATIONS).to_numpy(np.float64, na_value=np.nan)
    ok = ~np.isnan(gen)
    if not ok.any():
        return lo, hi
    f, t, gen = f[ok], t[ok], gen[ok]
    two = gap2 if gap2 is not None else 2 * gap
    years_apart = np.where(np.abs(gen) >= 2, two, gap) * np.sign(gen)
    yr = np.where(years >= 0, years, np.nan).astype(np.float64)
    if labels is not None:
        known = years >= 0
        med = pd.Series(yr[known]).groupby(labels[known]).median()
        cy = med.reindex(labels).to_numpy(np.float64)
        yr = np.where(np.isnan(yr), cy, yr)
    # to_key relative to from_key: older by gen generations (gen > 0) or younger (gen < 0)
    early, late = slip_range(yr, years, labels) if slips else (yr, yr)
    for a, b, g in ((t, f, years_apart), (f, t, -years_apart)):  # each end by the other
        live = ~np.isnan(yr[b])
        older = live & (g > 0)
        younger = live & (g < 0)
        # an older relative is bounded by the child's latest possible year, and the other
        # way round
        np.minimum.at(hi, a[older], late[b][older] - g[older])
        np.maximum.at(lo, a[younger], early[b][younger] - g[younger])
    return lo, hi


def slip_range(
    yr: np.ndarray, years: np.ndarray, labels: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The earliest and latest birth year each record may stand for when years may be
    keyed with slips (``relationship.year_slips``).

    With ``labels`` (persons), any year the person's own records give; before persons
    are known, the year or its last two digits swapped (:func:`swapped_years`).

    Args:
        yr: each record's year (float; NaN or -1 unknown).
        years: every record's own birth year (-1 unknown).
        labels: each record's person, or None.
    """
    if labels is not None:
        known = years >= 0
        by = pd.Series(years[known].astype(np.float64)).groupby(labels[known])
        early = np.fmin(yr, by.min().reindex(labels).to_numpy(np.float64))
        return early, np.fmax(yr, by.max().reindex(labels).to_numpy(np.float64))
    alt = swapped_years(yr, years)
    return np.fmin(yr, alt), np.fmax(yr, alt)


def swapped_years(yr: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Each year with its last two digits swapped (2012 → 2021), where that is another year
    no later than the latest recorded birth year; else the year itself (NaN stays NaN).

    A keying slip that swaps two adjacent digits is among the commonest (the ``dob``
    comparison's ``osa<=1`` level); in the year's last two digits it moves a birth by 9
    to 81 years, enough to make a mother younger than her child.

    Args:
        yr: float years (NaN unknown).
        years: every record's own birth year (-1 unknown), for the latest one.
    """
    known = years[years >= 0]
    if not len(known):
        return yr
    latest = float(known.max())
    y = np.nan_to_num(yr, nan=-1.0).astype(np.int64)
    rest = y % 100
    sw = y - rest + (rest % 10) * 10 + rest // 10
    ok = ~np.isnan(yr) & (sw != y) & (sw <= latest) & (y >= 0)
    return np.where(ok, sw.astype(np.float64), yr)


def household_postcodes(
    rels: pd.DataFrame,
    pos: Positions,
    labels: np.ndarray,
    pc: np.ndarray,
    groups: tuple[str, ...],
    moves: bool = False,
) -> pd.DataFrame:
    """Postcodes of the people a mention without its own postcode is stated to live with.

    A mother, father, carer or parent's partner recorded without an address (a FHIR
    RelatedPerson, a prison visitor) is looked for at the addresses of the person she is
    recorded against, unless the source says she does not live with them.

    With ``moves``, a relative recorded at one of those addresses is looked for at the
    others too: a household that moved took her with it.  "Helen Nowak, mother of Max"
    at the new address is the Helen Nowak whose hospital record still has the address
    Max's own hospital record has; a namesake stranger would have to have lived there.

    Args:
        rels: ``from_key, to_key, relationship[, lives_with]`` rows.
        pos: key → record position.
        labels: cluster label per record.
        pc: postcode per record (None when missing).
        groups: role groups (see ``ROLE_GROUP``) that usually share the anchor's home.
        moves: also relatives recorded at one of the anchor's postcodes (rows for the
            anchor's other postcodes).

    Returns:
        ``rec, pc, moved`` rows (deduplicated; ``moved``: the relative has a postcode of
        her own, another of the anchor's).
    """
    empty = pd.DataFrame(
        {"rec": np.empty(0, np.int64), "pc": np.empty(0, object), "moved": np.empty(0, bool)}
    )
    if rels is None or rels.empty:
        return empty
    if "apart" in rels.columns:
        r = rels[~rels["apart"].to_numpy(bool)]
    elif "lives_with" in rels.columns:
        apart = rels["lives_with"].map(lambda v: v is not None and v == v and not bool(v))
        r = rels[~apart.to_numpy(bool)]
    else:
        r = rels
    f, t, role = _rel_positions(r, pos)
    g = _groups(r, role)
    placeless = pd.isna(pc[t])
    keep = np.isin(g, list(groups)) & (placeless | moves)
    if not keep.any():
        return empty
    a = pd.DataFrame({"rec": t[keep], "anchor": labels[f[keep]], "own": pc[t[keep]]})
    mem = pd.DataFrame({"anchor": labels, "pc": pc})
    mem = mem[pd.notna(mem["pc"])].drop_duplicates()
    homeless = a[pd.isna(a["own"])]
    out = homeless.merge(mem, on="anchor")[["rec", "pc"]].assign(moved=False)
    if moves:
        # recorded at one of the anchor's addresses: looked for at the others
        at_home = a.merge(mem.rename(columns={"pc": "own"}), on=["anchor", "own"])
        moved = at_home.merge(mem, on="anchor")
        moved = moved[moved["pc"].to_numpy(object) != moved["own"].to_numpy(object)]
        out = pd.concat([out, moved[["rec", "pc"]].assign(moved=True)], ignore_index=True)
    return out.drop_duplicates(["rec", "pc"], ignore_index=True)


def kin_table(
    s: pd.DataFrame, rels: pd.DataFrame | None, only: np.ndarray | None = None
) -> pd.DataFrame | None:
    """Each mention's stated relatives, both directions, with the relative's name code.

    Args:
        s: standardised mentions (``fn``, ``sn``).
        rels: relationships resolved by :func:`resolve_positions`.
        only: record positions whose relatives are wanted (None: every record's). The
            review asks about the records of its pairs only: names are then coded for
            their relatives alone, not for every record (a string each).

    Returns:
        ``pos, rel, name`` rows (``name`` -1 when the relative's name is incomplete;
        equal codes for equal names within one table), or None without relationships.
    """
    if rels is None or rels.empty:
        return None
    f = rels["from_pos"].to_numpy(np.int64)
    t = rels["to_pos"].to_numpy(np.int64)
    pos = np.concatenate([f, t])
    rel = np.concatenate([t, f])
    if only is not None:
        keep = isin(pos, unique_sorted(only))
        pos, rel = pos[keep], rel[keep]
        named = unique_sorted(rel)  # the only records whose names are read
    else:
        named = np.arange(len(s))
    # a code per (forename, surname): codes of each name combined, no "fn|sn" string per
    # record (1.29M of them at a million mentions, made each time a table is built)
    fc, _ = pd.factorize(s["fn"].to_numpy(object)[named])
    sc, su = pd.factorize(s["sn"].to_numpy(object)[named])
    code = np.where((fc < 0) | (sc < 0), -1, fc.astype(np.int64) * max(len(su), 1) + sc)
    at = rel if only is None else np.searchsorted(named, rel)
    return pd.DataFrame({"pos": pos, "rel": rel, "name": code[at]}).drop_duplicates()


def share_kin(
    kin: pd.DataFrame | None, i: np.ndarray, j: np.ndarray, labels: np.ndarray | None
) -> np.ndarray:
    """Per pair: whether both mentions state a relative of one name (or one resolved person).

    Args:
        kin: :func:`kin_table` output.
        i, j: the pairs.
        labels: cluster label per record (None: compare relatives by name only).

    Returns:
        A boolean per pair.
    """
    out = np.zeros(len(i), bool)
    if kin is None or not len(i):
        return out
    pairs = pd.DataFrame({"k": np.arange(len(i)), "a": i, "b": j})
    ka = kin.rename(columns={"pos": "a"})
    kb = kin.rename(columns={"pos": "b"})
    left = pairs.merge(ka, on="a")
    both = left.merge(kb, on="b", suffixes=("_a", "_b"))
    same = (both["name_a"].to_numpy() >= 0) & (
        both["name_a"].to_numpy() == both["name_b"].to_numpy()
    )
    if labels is not None:
        same |= labels[both["rel_a"].to_numpy()] == labels[both["rel_b"].to_numpy()]
    out[both["k"].to_numpy()[same]] = True
    return out


def home_places(
    kin: pd.DataFrame | None, places: np.ndarray, labels: np.ndarray | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per record (CSR): places of its stated relatives and of the persons they resolved to.

    Args:
        kin: :func:`kin_table` output (None: no relationships).
        places: place code per record (-1 unknown).
        labels: cluster label per record (None: the relatives' own places only).

    Returns:
        ``(ptr, val)``: record ``r``'s places are ``val[ptr[r]:ptr[r + 1]]``; both None
        without relationships.
    """
    if kin is None:
        return None, None
    n = len(places)
    rel = kin["rel"].to_numpy(np.int64)
    pos = kin["pos"].to_numpy(np.int64)
    if labels is None:
        pl = places[rel]
        ok = pl >= 0
        df = pd.DataFrame({"pos": pos[ok], "pl": pl[ok]})
    else:
        known = places >= 0
        lp = pd.DataFrame({"lab": labels[known], "pl": places[known]}).drop_duplicates()
        df = pd.DataFrame({"pos": pos, "lab": labels[rel]}).merge(lp, on="lab")[["pos", "pl"]]
    df = df.drop_duplicates().sort_values("pos", kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.add.at(ptr, df["pos"].to_numpy(np.int64) + 1, 1)
    return np.cumsum(ptr), df["pl"].to_numpy(np.int64)


def kin_namesake_places(
    kin: pd.DataFrame | None,
    s: pd.DataFrame,
    places: np.ndarray,
    max_places: int,
    own_surname: int = 0,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per record (CSR): the places where its stated relatives' full names are recorded.

    A household that moved takes its members with it: a boy's school record states his
    mother "Christine Little" at the new address, and the hospital that still has the
    boy at the old one has a "Christine Little" there too, whether or not her two records
    were ever linked (one undated, they are not).  A same-name, same-birthday stranger at
    the old address would need a namesake of the boy's mother living with him.  Only a
    full name (forename and surname) recorded at ``max_places`` places or fewer counts: a
    common name is recorded everywhere and says nothing about one household.

    Args:
        kin: :func:`kin_table` output (None: no relationships).
        s: standardised mentions (``fn``, ``sn``).
        places: place code per record (-1 unknown).
        max_places: the most distinct places a full name may be recorded at (0: none).
        own_surname: 20-recall9: relatives of the record's own surname count too where
            at least this many of them (distinct full names, none the record's own) are
            recorded at one place: a boy's mother *and* father (or a sister) known there
            by their full names is his family, not a namesake's (0: never).

    Returns:
        ``(ptr, val)`` as :func:`home_places`; both None without relationships or rows.
    """
    if kin is None or max_places <= 0 or kin.empty:
        return None, None
    n = len(places)
    fc, _ = pd.factorize(s["fn"].to_numpy(object))
    sc, su = pd.factorize(s["sn"].to_numpy(object))
    code = np.where((fc < 0) | (sc < 0), -1, fc.astype(np.int64) * max(len(su), 1) + sc)
    known = (places >= 0) & (code >= 0)
    at = pd.DataFrame({"name": code[known], "pl": places[known]}).drop_duplicates()
    cnt = at.groupby("name")["pl"].transform("size").to_numpy()
    at = at[cnt <= max_places]
    pos = kin["pos"].to_numpy(np.int64)
    rel = kin["rel"].to_numpy(np.int64)
    rel_name = code[rel]
    # a relative of the record's own surname says too little: two namesakes' families
    # share the surname, and a child's common forename with it ("Jack Banks", son of
    # each of two Joshua Banks) is then one coincidence, not two (a father and his
    # namesake son: none at all)
    rows = pd.DataFrame({"pos": pos, "name": rel_name})
    rows = rows[(rel_name >= 0) & (sc[rel] != sc[pos])].drop_duplicates()
    df = rows.merge(at, on="name")[["pos", "pl"]].drop_duplicates()
    if own_surname > 0:
        # ...but two or more of the family's names seen at one place are the family:
        # two namesakes' families would have to share a mother's and a father's (or a
        # sibling's) full names as well (a relative of the record's own full name, a
        # father and his namesake son, is no evidence)
        own = (rel_name >= 0) & (sc[rel] == sc[pos]) & (rel_name != code[pos])
        fam = pd.DataFrame({"pos": pos[own], "name": rel_name[own]}).drop_duplicates()
        fam = fam.merge(at, on="name")
        cnt = fam.groupby(["pos", "pl"])["name"].transform("nunique").to_numpy()
        fam = fam[cnt >= own_surname][["pos", "pl"]]
        df = pd.concat([df, fam]).drop_duplicates()
    if df.empty:
        return None, None
    df = df.sort_values("pos", kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.add.at(ptr, df["pos"].to_numpy(np.int64) + 1, 1)
    return np.cumsum(ptr), df["pl"].to_numpy(np.int64)


def unique_role_pairs(
    rels: pd.DataFrame, labels: np.ndarray, roles: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of mentions stated in one unique role (mother, father) to one person.

    Args:
        rels: relationships resolved by :func:`resolve_positions`.
        labels: cluster label per record (the anchor person of each statement).
        roles: the unique roles (``[relationship] unique_roles``).

    Returns:
        ``(i, j)`` record positions, ``i < j``, not yet in one cluster.
    """
    if not roles or rels is None or rels.empty:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    r = rels["relationship"].to_numpy(object)
    ok = np.isin(r, list(roles))
    if not ok.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)
    d = pd.DataFrame(
        {
            "rec": rels["to_pos"].to_numpy(np.int64)[ok],
            "anchor": labels[rels["from_pos"].to_numpy(np.int64)[ok]],
            "role": r[ok],
        }
    ).drop_duplicates()
    size = d.groupby(["anchor", "role"])["rec"].transform("size")
    d = d[(size >= 2) & (size <= 8)]  # more "mothers" than that is not one family's record
    if d.empty:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    m = d.merge(d, on=["anchor", "role"])
    a, b = m["rec_x"].to_numpy(np.int64), m["rec_y"].to_numpy(np.int64)
    keep = (a < b) & (labels[a] != labels[b])
    return a[keep], b[keep]


def unique_role_placed(
    rels: pd.DataFrame,
    labels: np.ndarray,
    roles: tuple[str, ...],
    places: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
) -> np.ndarray:
    """Per unique-role pair ``(i, j)``: whether the two mentions are recorded at two
    places where the person they are stated against is itself recorded.

    Each agency records a child's mother at the child's address as it knows it: when
    the child's own records are at two addresses (the school has the new one, the
    hospital the old one), its mother's two mentions are too, and their disagreement is
    the child's, not evidence of two women (23-recall12).

    Args:
        rels: relationships resolved by :func:`resolve_positions`.
        labels: cluster label per record.
        roles: the unique roles (``[relationship] unique_roles``).
        places: place code per record (``-1`` unknown).
        i, j: the pairs (record positions).

    Returns:
        A boolean per pair.
    """
    out = np.zeros(len(i), bool)
    if not len(i) or not roles or rels is None or rels.empty:
        return out
    r = rels["relationship"].to_numpy(object)
    ok = np.isin(r, list(roles))
    pi, pj = places[i], places[j]
    look = np.flatnonzero((pi >= 0) & (pj >= 0) & (pi != pj))
    if not ok.any() or not len(look):
        return out
    # each mention's anchors (the person it is stated against, in a unique role)
    st = pd.DataFrame(
        {
            "rec": rels["to_pos"].to_numpy(np.int64)[ok],
            "anchor": labels[rels["from_pos"].to_numpy(np.int64)[ok]],
        }
    ).drop_duplicates()
    q = pd.DataFrame({"k": look, "a": i[look], "b": j[look]})
    both = q.merge(st.rename(columns={"rec": "a"}), on="a").merge(
        st.rename(columns={"rec": "b"}), on=["b", "anchor"]
    )
    if both.empty:
        return out
    # where each of those anchors is recorded
    known = places >= 0
    at = pd.DataFrame({"anchor": labels[known], "pl": places[known]}).drop_duplicates()
    at = at[isin(at["anchor"].to_numpy(np.int64), unique_sorted(both["anchor"].to_numpy()))]
    width = int(places.max()) + 1  # (anchor, place) as one code
    code = unique_sorted(at["anchor"].to_numpy(np.int64) * width + at["pl"].to_numpy())
    base = both["anchor"].to_numpy(np.int64) * width
    hit = isin(base + places[both["a"].to_numpy()], code) & isin(
        base + places[both["b"].to_numpy()], code
    )
    out[both["k"].to_numpy()[hit]] = True
    return out
