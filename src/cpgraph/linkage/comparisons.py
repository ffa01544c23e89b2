"""Multi-level comparisons of candidate pairs, vectorised.

Every comparison maps a pair to a level index (0 = best, ``len(levels)`` = ``else``,
``-1`` = missing on a side).  String similarities are computed once per distinct value
pair with ``rapidfuzz.process.cpdist``.  Name comparisons are taken over every name
variant a mention carries (aliases, former surname, order swaps) and the best-agreeing
variant pair is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import nicknames
import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from cpgraph.linkage.arrays import isin, unique_sorted
from cpgraph.linkage.forking import COMPARISON_THREADS
from cpgraph.linkage.spec import ComparisonSpec, Level, Spec
from cpgraph.linkage.standardise import V_ALT, V_BLOCK, V_MSWAP, V_PRIMARY, V_SWAP

MISSING = -1


NamePairs = tuple[tuple[str, str], ...]


@lru_cache(maxsize=4)
def nickname_roots(extra: NamePairs = ()) -> dict[str, frozenset[str]]:
    """Name → the canonical names it belongs to, from the ``nicknames`` dataset.

    Args:
        extra: further forename pairs known to be one name (variants learned from the
            data, see :mod:`cpgraph.linkage.variants`); each pair shares a root of its own.
    """
    roots: dict[str, set[str]] = {}
    for t in nicknames.name_triplets():
        a, b = t.name1.casefold(), t.name2.casefold()
        roots.setdefault(a, set()).add(a)
        roots.setdefault(b, set()).add(a)
    for a, b in extra:
        root = f"~{a}~{b}"  # cannot collide with a dataset name
        roots.setdefault(a, {a}).add(root)
        roots.setdefault(b, {b}).add(root)
    return {k: frozenset(v) for k, v in roots.items()}


def nickname_equivalent(a: str, b: str, extra: NamePairs = ()) -> bool:
    """True when two forenames share a canonical name (dataset or ``extra`` pairs)."""
    roots = nickname_roots(extra)
    ra = roots.get(a)
    rb = roots.get(b)
    if ra is None or rb is None:
        return False
    return not ra.isdisjoint(rb)


@lru_cache(maxsize=4)
def _roots_matrix(extra: NamePairs = ()) -> tuple[dict[str, int], np.ndarray]:
    """Name → row; rows hold the name's canonical-name ids (-1 padded)."""
    roots = nickname_roots(extra)
    ids = {r: k for k, r in enumerate(sorted({x for v in roots.values() for x in v}))}
    width = max(len(v) for v in roots.values())
    mat = np.full((len(roots) + 1, width), -1, np.int32)  # last row: unknown names
    row = {}
    for k, (name, rs) in enumerate(roots.items()):
        row[name] = k
        mat[k, : len(rs)] = sorted(ids[x] for x in rs)
    return row, mat


def nickname_hits(ua: np.ndarray, ub: np.ndarray, extra: NamePairs = ()) -> np.ndarray:
    """Vectorised :func:`nickname_equivalent` over aligned arrays of names."""
    row, mat = _roots_matrix(extra)
    unknown = len(mat) - 1
    ra = mat[pd.Series(ua).map(row).fillna(unknown).to_numpy(np.int64)]
    rb = mat[pd.Series(ub).map(row).fillna(unknown).to_numpy(np.int64)]
    return _roots_hit(ra, rb)


@lru_cache(maxsize=4)
def nickname_neighbours(extra: NamePairs = ()) -> dict[str, tuple[str, ...]]:
    """Name → the names directly tied to it: its canonical names and, for a canonical
    name, its nicknames (not the other nicknames of its canonical names: Rosie and
    Roseanna share "rose" and Roseanna "anna", which must not make Anna a misspelt Rosie).
    """
    roots = nickname_roots(extra)
    nicks: dict[str, set[str]] = {}
    for name, rs in roots.items():
        for r in rs:
            nicks.setdefault(r, set()).add(name)
    return {
        name: tuple(sorted((set(rs) | nicks.get(name, set())) - {name}))
        for name, rs in roots.items()
    }


def nickname_typo_hits(
    ua: np.ndarray,
    ub: np.ndarray,
    extra: NamePairs = (),
    threshold: float = 0.92,
    edits: int = 0,
) -> np.ndarray:
    """Forenames one of which is a misspelling of a name tied to the other.

    "Susna" and "Sue" (Susna ≈ Susan), "Jacike" and "Jacqueline" (Jacike ≈ Jackie): no
    comparison level sees them as one name, yet a sister would not be named so.  Only a
    name the nicknames dataset does not know counts as a misspelling (Anna is a name, not
    a misspelt Ann), and only against the other name's direct ties (its canonical names,
    or its nicknames).  Equal names are not a hit (they are not a typo of each other).

    Args:
        ua, ub: aligned arrays of forenames (None allowed: no hit).
        extra: learned forename pairs (as for :func:`nickname_roots`).
        threshold: Jaro–Winkler similarity to a tied name that counts as a misspelling.
        edits: spec v14: a name of 3+ letters within this many keying edits (optimal
            string alignment) of the other name itself or of a name tied to it is a
            misspelling too (0: Jaro–Winkler only).  Short names lose too much similarity
            to one wrong key for Jaro–Winkler: "Mije" beside "Mike" (Michael's), "Jile"
            beside "Julie", "Mqry" beside "Mary".

    Returns:
        A boolean per pair.
    """
    n = len(ua)
    out = np.zeros(n, bool)
    if not n:
        return out
    ties = nickname_neighbours(extra)
    pairs = pd.DataFrame({"a": np.asarray(ua, object), "b": np.asarray(ub, object)})
    codes, uniq = pd.factorize(pd.MultiIndex.from_frame(pairs.fillna("")))
    u = pd.DataFrame(list(uniq), columns=["a", "b"])
    u["k"] = np.arange(len(u))
    u = u[(u["a"] != "") & (u["b"] != "") & (u["a"] != u["b"])]
    hit = np.zeros(len(uniq), bool)
    for x, y in (("a", "b"), ("b", "a")):
        # x the possible misspelling (a name no one knows), y the name it may stand for
        eq = u[y].map(ties)
        have = (eq.notna() & ~u[x].isin(ties.keys())).to_numpy()
        if not have.any():
            continue
        sub = u[have].assign(c=eq[have]).explode("c").dropna(subset=["c"])
        sim = _cp(
            sub[x].to_numpy(object), sub["c"].to_numpy(object), JaroWinkler.normalized_similarity
        )
        hit[sub["k"].to_numpy()[sim >= threshold - 1e-9]] = True
        if edits > 0:
            # one wrong key in a short name: against the tied names and the name itself
            own = u[have].assign(c=u[y][have])
            both = pd.concat([sub, own])
            both = both[both[x].str.len() >= 3]
            if both.empty:
                continue
            d = _cp(both[x].to_numpy(object), both["c"].to_numpy(object), OSA.distance)
            hit[both["k"].to_numpy()[d <= edits]] = True
    out[:] = hit[codes]
    return out


def _expand(
    owners: np.ndarray, start: np.ndarray, count: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each owner position k, every row ``start[k] .. start[k]+count[k]-1``."""
    rep = np.repeat(np.arange(len(owners)), count)
    offs = np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count)
    return rep, np.repeat(start, count) + offs


def _cp(ua: np.ndarray, ub: np.ndarray, scorer, **kw) -> np.ndarray:
    workers = COMPARISON_THREADS.get()
    return process.cpdist(list(ua), list(ub), scorer=scorer, workers=workers, **kw)


_SIM_OPS = ("jw", "lev", "osa", "token_set")
# distances (smaller is closer): edits, and edits or swaps of two adjacent characters
_DISTANCES = {"lev": Levenshtein.distance, "osa": OSA.distance}
_SIM_SCALE = {"jw": 1.0, "token_set": 100.0}


def _similarity(op: str, ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """Similarity (jw, token_set) or distance (lev, osa) of aligned string arrays."""
    if op == "jw":
        return _cp(ua, ub, JaroWinkler.normalized_similarity)
    if op in _DISTANCES:
        return _cp(ua, ub, _DISTANCES[op], dtype=np.int32).astype(np.float64)
    return _cp(ua, ub, fuzz.token_set_ratio)


_NICK_ROWS: dict[tuple[int, NamePairs], tuple[np.ndarray, np.ndarray]] = {}


def _nickname_rows(vocab: np.ndarray, extra: NamePairs = ()) -> np.ndarray:
    """Per vocabulary entry, its row of canonical-name ids (cached per vocabulary)."""
    hit = _NICK_ROWS.get((id(vocab), extra))
    if hit is not None and hit[0] is vocab:
        return hit[1]
    row, mat = _roots_matrix(extra)
    unknown = len(mat) - 1
    r = mat[pd.Series(vocab, dtype=object).map(row).fillna(unknown).to_numpy(np.int64)]
    if len(_NICK_ROWS) > 8:
        _NICK_ROWS.clear()
    _NICK_ROWS[(id(vocab), extra)] = (vocab, r)
    return r


def _roots_hit(ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """Rows of canonical-name ids share an id (both sides known)."""
    out = np.zeros(len(ra), bool)
    live = (ra[:, 0] >= 0) & (rb[:, 0] >= 0)
    if not live.any():
        return out
    ra, rb = ra[live], rb[live]
    hit = np.zeros(len(ra), bool)
    for x in range(ra.shape[1]):
        col = ra[:, x : x + 1]
        hit |= ((col == rb) & (col >= 0)).any(axis=1)
    out[live] = hit
    return out


def _predicate(lv: Level, ua: np.ndarray, ub: np.ndarray, extra: NamePairs = ()) -> np.ndarray:
    """Level test on distinct value pairs (arrays of str)."""
    op = lv.op
    if op == "exact":
        return ua == ub
    if op == "jw":
        return _cp(ua, ub, JaroWinkler.normalized_similarity) >= lv.arg - 1e-9
    if op in _DISTANCES:
        return _cp(ua, ub, _DISTANCES[op], dtype=np.int32) <= lv.arg
    if op == "token_set":
        return _cp(ua, ub, fuzz.token_set_ratio) >= 100.0 * lv.arg - 1e-9
    if op == "initial":
        la = np.char.str_len(ua.astype(str))
        lb = np.char.str_len(ub.astype(str))
        fa = ua.astype("<U1")
        fb = ub.astype("<U1")
        return ((la == 1) | (lb == 1)) & (fa == fb)
    if op == "nickname":
        return nickname_hits(ua, ub, extra)
    if op == "part":
        out = np.zeros(len(ua), bool)
        for k, (a, b) in enumerate(zip(ua, ub, strict=True)):
            if " " in a or " " in b:
                ta = {t for t in a.split(" ") if len(t) > 1}
                tb = {t for t in b.split(" ") if len(t) > 1}
                out[k] = bool(ta & tb)
        return out
    raise ValueError(f"level op {op!r} not supported on strings")


def string_levels(
    a: np.ndarray, b: np.ndarray, levels: tuple[Level, ...], name_pairs: NamePairs = ()
) -> np.ndarray:
    """Level index per pair for two aligned object arrays of strings (None = missing)."""
    codes, uniq = pd.factorize(np.concatenate([a, b]), use_na_sentinel=True)
    return code_levels(
        codes[: len(a)], codes[len(a) :], np.asarray(uniq, dtype=object), levels, name_pairs
    )


def code_levels(
    ca: np.ndarray,
    cb: np.ndarray,
    vocab: np.ndarray,
    levels: tuple[Level, ...],
    name_pairs: NamePairs = (),
) -> np.ndarray:
    """Like :func:`string_levels` on integer codes into ``vocab`` (-1 = missing).

    Each distinct code pair is evaluated once, level by level, best level first.
    """
    n = len(ca)
    out = np.full(n, MISSING, np.int8)
    both = (ca >= 0) & (cb >= 0)
    if not both.any():
        return out
    k = max(len(vocab), 1)
    pc = ca[both].astype(np.int64) * k + cb[both]
    inv, upc = pd.factorize(pc)  # hash-based: no sort of the (large) pair array
    ia, ib = upc // k, upc % k
    ua, ub = vocab[ia], vocab[ib]
    lev_u = np.full(len(upc), len(levels), np.int8)
    todo = np.ones(len(upc), bool)
    sims: dict[str, np.ndarray] = {}  # similarity per distinct pair, computed once per op
    for li, lv in enumerate(levels):
        idx = np.flatnonzero(todo)
        if not len(idx):
            break
        if lv.op == "exact":
            hit = ia[idx] == ib[idx]
        elif lv.op == "nickname":
            rows = _nickname_rows(vocab, name_pairs)
            hit = _roots_hit(rows[ia[idx]], rows[ib[idx]])
        elif lv.op in _SIM_OPS:
            if lv.op not in sims:  # later levels of one op only look at pairs still to do
                sims[lv.op] = np.full(len(upc), np.nan)
                sims[lv.op][idx] = _similarity(lv.op, ua[idx], ub[idx])
            x = sims[lv.op][idx]
            hit = (x <= lv.arg) if lv.op in _DISTANCES else (x >= _SIM_SCALE[lv.op] * lv.arg - 1e-9)
        else:
            hit = _predicate(lv, ua[idx], ub[idx], name_pairs)
        lev_u[idx[hit]] = li
        todo[idx[hit]] = False
    out[both] = lev_u[inv]
    return out


def date_levels(
    s: pd.DataFrame, i: np.ndarray, j: np.ndarray, levels: tuple[Level, ...]
) -> np.ndarray:
    """Date-of-birth levels: exact / swapped day-month / edits / year off by one / ..."""
    ya, yb = s["dob_y"].to_numpy()[i], s["dob_y"].to_numpy()[j]
    ma, mb = s["dob_m"].to_numpy()[i], s["dob_m"].to_numpy()[j]
    da, db = s["dob_d"].to_numpy()[i], s["dob_d"].to_numpy()[j]
    present = (ya >= 0) & (yb >= 0)
    out = np.full(len(i), MISSING, np.int8)
    lev = np.full(len(i), len(levels), np.int8)
    todo = present.copy()
    d8 = s["dob8"].to_numpy()
    for li, lv in enumerate(levels):
        if lv.op == "exact":
            hit = (ya == yb) & (ma == mb) & (da == db)
        elif lv.op == "swap_dm":
            hit = (ya == yb) & (ma == db) & (da == mb) & (ma != da)
        elif lv.op == "year_off1":
            hit = (ma == mb) & (da == db) & (np.abs(ya - yb) == 1)
        elif lv.op == "month_year":
            hit = (ya == yb) & (ma == mb)
        elif lv.op == "years":
            hit = np.abs(ya - yb) <= lv.arg
        elif lv.op in _DISTANCES:
            # on YYYYMMDD: "osa" also takes two swapped digits (13 → 31, 1987 → 1978)
            hit = np.zeros(len(i), bool)
            idx = np.flatnonzero(todo)
            if len(idx):
                hit[idx] = string_levels(d8[i[idx]], d8[j[idx]], (lv,)) == 0
        else:
            raise ValueError(lv.op)
        hit &= todo
        lev[hit] = li
        todo &= ~hit
    out[present] = lev[present]
    return out


def decade_slip(s: pd.DataFrame, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Pairs whose birth dates differ only in the year's tens digit (1995 / 1985).

    One keyed digit, so ``osa<=1`` accepts it, but ten years or more apart: a namesake's
    date as often as a slip.
    """
    ya, yb = s["dob_y"].to_numpy()[i], s["dob_y"].to_numpy()[j]
    same_md = (s["dob_m"].to_numpy()[i] == s["dob_m"].to_numpy()[j]) & (
        s["dob_d"].to_numpy()[i] == s["dob_d"].to_numpy()[j]
    )
    return (
        (ya >= 0)
        & (yb >= 0)
        & same_md
        & (ya // 100 == yb // 100)
        & (ya % 10 == yb % 10)
        & ((ya // 10) % 10 != (yb // 10) % 10)
    )


def postcode_levels(
    s: pd.DataFrame, i: np.ndarray, j: np.ndarray, levels: tuple[Level, ...]
) -> np.ndarray:
    """UK postcode levels: full / sector / district."""
    cols = {"exact": "pc", "sector": "pc_sector", "district": "pc_district"}
    pa, pb = s["pc"].to_numpy()[i], s["pc"].to_numpy()[j]
    present = pd.notna(pa) & pd.notna(pb)
    out = np.full(len(i), MISSING, np.int8)
    lev = np.full(len(i), len(levels), np.int8)
    todo = present.copy()
    for li, lv in enumerate(levels):
        col = s[cols[lv.op]].to_numpy()
        a, b = col[i], col[j]
        hit = todo & pd.notna(a) & (a == b)
        lev[hit] = li
        todo &= ~hit
    out[present] = lev[present]
    return out


@dataclass
class PairLevels:
    """Comparison levels of a batch of pairs.

    Attributes:
        i, j: record positions.
        levels: ``(n_pairs, n_comparisons)`` int8, -1 = missing.
        tf_values: comparison name → value agreed on (for TF adjustment; None elsewhere).
    """

    i: np.ndarray
    j: np.ndarray
    levels: np.ndarray
    tf_values: dict[str, np.ndarray] = field(default_factory=dict)


VOWELS = frozenset("aeiouy")


def vowel_variants(a: object, b: object) -> bool:
    """Spec 21-alike10: two surnames of one length (4+ letters) that differ only where
    both have a vowel ("umar" / "omar", "hussain" / "hussein"): one name transliterated
    two ways, as agencies record Arabic, Somali and South Asian names."""
    if not isinstance(a, str) or not isinstance(b, str) or a == b:
        return False
    if len(a) != len(b) or len(a) < 4:
        return False
    return all(x == y or (x in VOWELS and y in VOWELS) for x, y in zip(a, b, strict=True))


class Comparer:
    """Computes comparison levels for pairs of standardised records."""

    def __init__(
        self, s: pd.DataFrame, variants: pd.DataFrame, spec: Spec, name_pairs: NamePairs = ()
    ) -> None:
        self.s = s
        self.spec = spec
        self.name_pairs = name_pairs
        self.comps = spec.comparisons
        v = variants[variants["vtype"] != V_BLOCK].reset_index(drop=True)
        # one vocabulary for every name role, so swapped roles compare by code
        roles = ("fn", "mn", "sn")
        allnames = np.concatenate([v[r].to_numpy(object) for r in roles])
        codes, vocab = pd.factorize(allnames, use_na_sentinel=True)
        self.vocab = np.asarray(vocab, dtype=object)
        self.first = np.array([x[0] for x in self.vocab], dtype="<U1")
        nv = len(v)
        vc = {r: codes[k * nv : (k + 1) * nv].astype(np.int64) for k, r in enumerate(roles)}
        self.variants = pd.DataFrame(
            {"rec": v["rec"].to_numpy(), "vtype": v["vtype"].to_numpy(), **vc}
        )
        prim = self.variants[self.variants["vtype"] == V_PRIMARY]
        self.rec_codes = {}
        for r in roles:
            arr = np.full(len(s), -1, np.int64)
            arr[prim["rec"].to_numpy()] = prim[r].to_numpy()
            self.rec_codes[r] = arr
        counts = np.bincount(v["rec"].to_numpy(), minlength=len(s))
        self.has_variants = counts > 1
        # records with alternative recorded names (aliases, former surname): those always
        # need the variant search; order swaps only when initials could line up
        alt = v["rec"].to_numpy()[v["vtype"].to_numpy() == V_ALT]
        self.has_alt = np.zeros(len(s), bool)
        self.has_alt[alt] = True
        fl = np.append(self.first, "")  # code -1 → ""
        self.rec_first = {r: fl[self.rec_codes[r]] for r in roles}
        # variants are grouped by record (name_variants emits them in record order)
        self.v_count = counts
        self.v_start = np.cumsum(counts) - counts
        self.name_comps = [(k, c) for k, c in enumerate(self.comps) if c.kind == "name"]
        self._col_codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        # forename code pairs already judged by nickname_typo, per threshold and edits
        self._typo: dict[tuple[float, int], tuple[np.ndarray, np.ndarray]] = {}
        self._records_at: dict[tuple[str, int], pd.DataFrame] = {}
        self._alt_surnames: np.ndarray | None = None
        self._home_keys: pd.MultiIndex | None = None
        self._home_codes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._pc_codes: np.ndarray | None = None
        # (postcode, date of birth, initial) codes → surnames recorded there (home_jw)
        self._home_names: dict[tuple[int, int, int], list[str]] | None = None

    def alias_surname(
        self,
        i: np.ndarray,
        j: np.ndarray,
        home_check: bool = False,
        distinct_jw: float = 0.0,
        home_jw: float = 0.0,
        home_own_dob: bool = False,
        distinct_vowels: bool = False,
    ) -> np.ndarray:
        """Whether one record's surname is a name the other record states it also uses.

        Two records under different surnames where each agency lists the other's
        surname as an alias (or a former surname) are one person recorded under two
        names, something a stranger who happens to share a name and date of birth
        cannot produce.  Only the recorded surnames are compared with the stated ones
        (exact codes, after standardisation); a pair whose recorded surnames already
        agree gains nothing from an alias.

        With ``home_check``, an alias does not count when its holder is also recorded
        under it at his own postcode (a record there with that surname, the other
        record's date of birth and forename initial; see :meth:`namesake_at`): then
        the holder is known by that name where he lives, and the other record sharing
        it at another address is no more than a same-name, same-birthday pair, which
        the place gate decides.

        With ``distinct_jw`` > 0, recorded surnames this similar (Jaro–Winkler) are one
        name misspelt ("Jons" stating "Jones"), and the alias is its right spelling, not
        a second name: no evidence.

        With ``distinct_vowels`` (spec 21-alike10), recorded surnames of one length that
        differ only where both have a vowel ("Umar" / "Omar", "Hussain" / "Hussein",
        "Rahman" / "Rehman") are one name transliterated two ways, not two names: a
        police nominal "Abdi Umar, alias Abdullahi Omar" states his own name in another
        spelling, and an "Abdullahi Omar" of his birthday at another address shares it as
        any namesake would: no evidence (the place gate decides).

        With ``home_jw`` > 0 the holder-at-home test also accepts a record there whose
        surname is this similar to the alias (a misspelling of it: "Bulll" at the home
        of "Ann Begum, alias Ann Bull").

        With ``home_own_dob`` the record at home may bear the holder's own date of birth
        instead of the other record's: the other record's date may be a slip of his
        (day and month swapped), and a record where he lives, under the alias, with his
        own birth date shows just as well that the alias is his name there.

        Args:
            i, j: record positions of each pair.
            home_check: apply the holder-at-home test above.
            distinct_jw: the similarity from which recorded surnames are one name (0: off).
            distinct_vowels: recorded surnames apart only in vowels are one name.
            home_jw: the similarity from which a surname at home is the alias (0: exact).
            home_own_dob: the holder-at-home test also reads the holder's own birth date.

        Returns:
            A boolean per pair.
        """
        i = np.asarray(i, np.int64)
        j = np.asarray(j, np.int64)
        if self._alt_surnames is None:
            v = self.variants
            alt = v[(v["vtype"] == V_ALT) & (v["sn"] >= 0)]
            k = len(self.vocab) + 1
            self._alt_surnames = unique_sorted(
                alt["rec"].to_numpy(np.int64) * k + alt["sn"].to_numpy(np.int64)
            )
        out = np.zeros(len(i), bool)
        sa, sb = self.rec_codes["sn"][i], self.rec_codes["sn"][j]
        ok = (sa >= 0) & (sb >= 0) & (sa != sb) & (self.has_alt[i] | self.has_alt[j])
        if not ok.any() or not len(self._alt_surnames):
            return out
        if distinct_jw > 0:
            sn = self.s["sn"].to_numpy(object)
            sim = _cp(sn[i[ok]], sn[j[ok]], JaroWinkler.normalized_similarity)
            ok[np.flatnonzero(ok)[sim >= distinct_jw - 1e-9]] = False
        if distinct_vowels and ok.any():
            sn = self.s["sn"].to_numpy(object)
            look = np.flatnonzero(ok)
            same = [vowel_variants(a, b) for a, b in zip(sn[i[look]], sn[j[look]], strict=True)]
            ok[look[np.asarray(same, bool)]] = False
        k = len(self.vocab) + 1
        ii, jj = i[ok], j[ok]
        hit_i = isin(ii * k + sb[ok], self._alt_surnames)  # i states j's surname
        hit_j = isin(jj * k + sa[ok], self._alt_surnames)
        if home_check:
            hit_i &= ~self.namesake_at(ii, jj, sb[ok], home_jw)
            hit_j &= ~self.namesake_at(jj, ii, sa[ok], home_jw)
            if home_own_dob:
                # 15: ...or with his own date of birth (the other's a slip of it)
                hit_i &= ~self.namesake_at(ii, jj, sb[ok], home_jw, dob_from=ii)
                hit_j &= ~self.namesake_at(jj, ii, sa[ok], home_jw, dob_from=jj)
        out[ok] = hit_i | hit_j
        return out

    def namesake_at(
        self,
        holder: np.ndarray,
        other: np.ndarray,
        sn: np.ndarray,
        jw: float = 0.0,
        dob_from: np.ndarray | None = None,
    ) -> np.ndarray:
        """Whether a record at ``holder``'s postcode bears surname code ``sn`` with
        ``other``'s date of birth and forename initial (``other`` being elsewhere).

        Args:
            holder: record positions whose postcode is looked at.
            other: record positions whose date of birth and forename initial must match.
            sn: surname codes (one per pair).
            jw: > 0: a surname there this similar (Jaro–Winkler) to ``sn`` counts too.
            dob_from: record positions whose date of birth and forename initial are
                looked for instead of ``other``'s (``other`` still says where the pair's
                other record is).

        Returns:
            A boolean per pair (False where a postcode or date of birth is unknown, or
            where both records are at one postcode).
        """
        if self._home_keys is None:
            pc = self.postcode_codes()
            dob, _ = pd.factorize(self.s["dob"].to_numpy(object), use_na_sentinel=True)
            ini, _ = pd.factorize(self.rec_first["fn"], use_na_sentinel=True)
            self._home_codes = (pc, dob.astype(np.int64), ini.astype(np.int64))
            own = self.rec_codes["sn"].astype(np.int64)
            ok = (pc >= 0) & (dob >= 0) & (own >= 0)
            self._home_keys = pd.MultiIndex.from_arrays([pc[ok], own[ok], dob[ok], ini[ok]])
        pc, dob, ini = self._home_codes
        h, where = np.asarray(holder, np.int64), np.asarray(other, np.int64)
        o = where if dob_from is None else np.asarray(dob_from, np.int64)
        ok = (pc[h] >= 0) & (dob[o] >= 0) & (pc[h] != pc[where]) & (sn >= 0)
        out = np.zeros(len(h), bool)
        if ok.any():
            key = pd.MultiIndex.from_arrays([pc[h[ok]], sn[ok], dob[o[ok]], ini[o[ok]]])
            out[ok] = key.isin(self._home_keys)
        todo = np.flatnonzero(ok & ~out)
        if jw > 0 and len(todo):
            # spec v14: the name he is known by at home may be recorded with a slip
            # ("Bulll" for the alias "Bull"): the surnames recorded there, by postcode,
            # date of birth and forename initial, against the alias
            if self._home_names is None:
                self._home_names = self._surnames_by_place()
            hn = self._home_names
            own = self.rec_codes["sn"]
            for x in todo.tolist():
                there = hn.get((int(pc[h[x]]), int(dob[o[x]]), int(ini[o[x]])), ())
                alias = self.vocab[sn[x]]
                # (the holder's own surname is his, not the alias: "Jons, alias Jones" is
                # the spelling rule's question, alias_distinct_surnames_jw)
                mine = self.vocab[own[h[x]]] if own[h[x]] >= 0 else None
                out[x] = any(
                    y != mine and JaroWinkler.normalized_similarity(alias, y) >= jw for y in there
                )
        return out

    def _surnames_by_place(self) -> dict[tuple[int, int, int], list[str]]:
        """(postcode, date of birth, forename initial) codes → the surnames recorded there.

        A plain loop: a pandas group-by of one small group per place built a MultiIndex
        slice per group (~8 s at 240k records, most of a no-change incremental run's
        review stage).
        """
        keys = self._home_keys
        assert keys is not None
        names = self.vocab[keys.get_level_values(1).to_numpy()].tolist()
        out: dict[tuple[int, int, int], list[str]] = {}
        levels = (keys.get_level_values(k).to_numpy(np.int64).tolist() for k in (0, 2, 3))
        for place, name in zip(zip(*levels, strict=True), names, strict=True):
            got = out.get(place)
            if got is None:
                out[place] = [name]
            else:
                got.append(name)
        return out

    def stated_surnames(self, labels: np.ndarray) -> np.ndarray:
        """Codes ``label * (vocab + 1) + surname`` of the surnames each cluster states.

        An alias or former surname recorded on any record of a cluster is a surname that
        person is known to use (see :meth:`person_alias_surname`); computed once per
        clustering, not per pair.

        Args:
            labels: cluster label per record.

        Returns:
            The sorted codes.
        """
        v = self.variants
        alt = v[(v["vtype"] == V_ALT) & (v["sn"] >= 0)]
        k = len(self.vocab) + 1
        rec = alt["rec"].to_numpy(np.int64)
        return unique_sorted(labels[rec].astype(np.int64) * k + alt["sn"].to_numpy(np.int64))

    def person_alias_surname(
        self, i: np.ndarray, j: np.ndarray, labels: np.ndarray, stated: np.ndarray | None = None
    ) -> np.ndarray:
        """Like :meth:`alias_surname`, with the names stated by any record of the person.

        Once the history record under "Gary James" has joined "Gary Peters" through the
        record that lists "Gary James" as an alias, his school contact "Gary Peters"
        (no alias) is not in conflict with the history record: James is a surname the
        person (the cluster) is known to use.

        Args:
            i, j: record positions of each pair (both in one cluster).
            labels: cluster label per record.
            stated: :meth:`stated_surnames` of ``labels`` (computed here when None).

        Returns:
            A boolean per pair.
        """
        i = np.asarray(i, np.int64)
        j = np.asarray(j, np.int64)
        out = np.zeros(len(i), bool)
        sa, sb = self.rec_codes["sn"][i], self.rec_codes["sn"][j]
        ok = (sa >= 0) & (sb >= 0) & (sa != sb)
        if stated is None:
            stated = self.stated_surnames(labels)
        if not ok.any() or not len(stated):
            return out
        k = len(self.vocab) + 1
        la, lb = labels[i[ok]].astype(np.int64), labels[j[ok]].astype(np.int64)
        out[ok] = isin(lb * k + sa[ok], stated) | isin(la * k + sb[ok], stated)
        return out

    def middle_name_only(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Whether the recorded forenames differ and one is among the other's middle names.

        Args:
            i, j: record positions of each pair.

        Returns:
            A boolean per pair.
        """
        fn = self.s["fn"].to_numpy(object)
        mn = self.s["mn"].to_numpy(object)

        def within(f: object, m: object) -> bool:
            return isinstance(f, str) and isinstance(m, str) and f in m.split()

        return np.array(
            [
                fa != fb and (within(fa, mb) or within(fb, ma))
                for fa, fb, ma, mb in zip(fn[i], fn[j], mn[i], mn[j], strict=True)
            ],
            dtype=bool,
        )

    def postcode_codes(self) -> np.ndarray:
        """Per record, a code of its postcode (``-1`` unknown); made once per comparer."""
        if self._pc_codes is None:
            pc, _ = pd.factorize(self.s["pc"].to_numpy(object), use_na_sentinel=True)
            self._pc_codes = pc.astype(np.int64)
        return self._pc_codes

    def given_names_apart(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Whether two records' given names share no name at all, as recorded.

        The forenames differ, neither forename is among the other's middle names (a
        person known by a middle name, or names written in another order) and the
        middle names have no name in common, nor two a keying edit apart (a short name
        keyed with one slip, "Liam" as "Liem", loses too much Jaro-Winkler similarity
        for the comparison's levels): "John Liam" and "Ian Michael".

        Args:
            i, j: record positions of each pair.

        Returns:
            A boolean per pair (False where either record has no middle name).
        """
        fn = self.s["fn"].to_numpy(object)
        mn = self.s["mn"].to_numpy(object)

        def apart(fa: object, fb: object, ma: object, mb: object) -> bool:
            if not (isinstance(ma, str) and isinstance(mb, str) and ma and mb) or fa == fb:
                return False
            a, b = set(ma.split()), set(mb.split())
            if a & b or fa in b or fb in a:
                return False
            return not any(OSA.distance(x, y) <= 1 for x in a for y in b)

        return np.array(
            [apart(*row) for row in zip(fn[i], fn[j], mn[i], mn[j], strict=True)], dtype=bool
        )

    def middle_name_like(
        self, i: np.ndarray, j: np.ndarray, like_jw: float = 0.92, related_jw: float = 0.85
    ) -> np.ndarray:
        """Whether one record's forename is only a spelling or nickname of the other's
        middle name: "Ayesha" beside "Samina Aisha", "Kate" beside "Sarah Katherine".

        The two recorded forenames must be unrelated (neither nickname-equivalent nor
        ``related_jw`` similar), so a misspelt forename of one person never counts; a
        spelling of the middle name is a nickname tie (the dataset's or a learned one) or
        ``like_jw`` similar (strict: "Gen" is not "Glenn").

        Args:
            i, j: record positions of each pair.
            like_jw: Jaro–Winkler similarity from which a forename spells a middle name.
            related_jw: Jaro–Winkler similarity from which two forenames are related.

        Returns:
            A boolean per pair.
        """
        fn = self.s["fn"].to_numpy(object)
        mn = self.s["mn"].to_numpy(object)
        extra = self.name_pairs

        def alike(a: str, b: str, jw: float) -> bool:
            return (
                a == b
                or nickname_equivalent(a, b, extra)
                or JaroWinkler.normalized_similarity(a, b) >= jw
            )

        def within(f: object, m: object) -> bool:
            return (
                isinstance(f, str)
                and isinstance(m, str)
                and any(alike(f, x, like_jw) for x in m.split())
            )

        return np.array(
            [
                isinstance(fa, str)
                and isinstance(fb, str)
                and not alike(fa, fb, related_jw)
                and (within(fa, mb) or within(fb, ma))
                for fa, fb, ma, mb in zip(fn[i], fn[j], mn[i], mn[j], strict=True)
            ],
            dtype=bool,
        )

    def nickname_typo(
        self, i: np.ndarray, j: np.ndarray, threshold: float, edits: int = 0
    ) -> np.ndarray:
        """Whether the recorded forenames are a misspelling of tied names.

        See :func:`nickname_typo_hits`; each distinct name pair is judged once per
        comparer and threshold (the relationship rounds and cohesion step re-score pairs).

        Args:
            i, j: record positions of each pair.
            threshold: Jaro–Winkler similarity that counts as a misspelling.
            edits: keying edits that count as one too (see :func:`nickname_typo_hits`).

        Returns:
            A boolean per pair (False where either forename is missing).
        """
        ca, cb = self.rec_codes["fn"][i], self.rec_codes["fn"][j]
        out = np.zeros(len(ca), bool)
        ok = (ca >= 0) & (cb >= 0)
        if not ok.any():
            return out
        k = max(len(self.vocab), 1)
        code = np.minimum(ca[ok], cb[ok]) * k + np.maximum(ca[ok], cb[ok])
        inv, uniq = pd.factorize(code)
        memo = (threshold, edits)
        codes, vals = self._typo.get(memo, (np.empty(0, np.int64), np.empty(0, bool)))
        known = isin(uniq, codes)  # judged before (``codes`` is kept sorted)
        hit = np.zeros(len(uniq), bool)
        hit[known] = vals[np.searchsorted(codes, uniq[known])]
        new = uniq[~known]
        if len(new):
            got = nickname_typo_hits(
                self.vocab[new // k], self.vocab[new % k], self.name_pairs, threshold, edits
            )
            hit[~known] = got
            allc = np.concatenate([codes, new])
            order = np.argsort(allc, kind="stable")
            self._typo[memo] = (allc[order], np.concatenate([vals, got])[order])
        out[ok] = hit[inv]
        return out

    def records_at(self, col: str, max_size: int) -> pd.DataFrame:
        """Each record holding a value of a column, for joins on that value.

        Built once per comparer (the relationship rounds reuse it); callers must not
        modify the frame returned.

        Args:
            col: a standardised column (e.g. ``pc``).
            max_size: values held by more records than this are left out.

        Returns:
            ``<col>, other`` rows (``other``: the record position).
        """
        key = (col, max_size)
        if key not in self._records_at:
            v = self.s[col].to_numpy(object)
            at = pd.DataFrame({col: v, "other": np.arange(len(v))})
            at = at[pd.notna(at[col])]
            size = at.groupby(col)["other"].transform("size")
            self._records_at[key] = at[size <= max_size]
        return self._records_at[key]

    def _codes_for(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        if col not in self._col_codes:
            codes, uniq = pd.factorize(self.s[col].to_numpy(object), use_na_sentinel=True)
            # int32: one array per compared column, held all run (pair codes are made in
            # int64 from them: `code_levels`)
            self._col_codes[col] = (codes.astype(np.int32), np.asarray(uniq, dtype=object))
        return self._col_codes[col]

    def _postcode(self, i: np.ndarray, j: np.ndarray, levels: tuple[Level, ...]) -> np.ndarray:
        """:func:`postcode_levels` on integer codes (same result, no string compares)."""
        cols = {"exact": "pc", "sector": "pc_sector", "district": "pc_district"}
        pc = self._codes_for("pc")[0]
        pa, pb = pc[i], pc[j]
        present = (pa >= 0) & (pb >= 0)
        out = np.full(len(i), MISSING, np.int8)
        lev = np.full(len(i), len(levels), np.int8)
        todo = present.copy()
        for li, lv in enumerate(levels):
            col = self._codes_for(cols[lv.op])[0]
            a, b = col[i], col[j]
            hit = todo & (a >= 0) & (a == b)
            lev[hit] = li
            todo &= ~hit
        out[present] = lev[present]
        return out

    def _simple(self, c: ComparisonSpec, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        s = self.s
        if c.kind == "date":
            return date_levels(s, i, j, c.levels)
        if c.kind == "postcode_uk":
            return self._postcode(i, j, c.levels)
        codes, vocab = self._codes_for(f"id_{c.name}" if c.kind == "identifier" else c.column)
        return code_levels(codes[i], codes[j], vocab, c.levels)

    def _names(self, fa: dict, fb: dict) -> np.ndarray:
        cols = []
        for _, c in self.name_comps:
            cols.append(code_levels(fa[c.role], fb[c.role], self.vocab, c.levels, self.name_pairs))
        return np.stack(cols, axis=1) if cols else np.empty((len(fa["fn"]), 0), np.int8)

    def _name_score(self, lv: np.ndarray) -> np.ndarray:
        score = np.zeros(len(lv), np.float64)
        for col, (_, c) in enumerate(self.name_comps):
            nlab = len(c.levels) + 1
            x = lv[:, col].astype(np.float64) / nlab
            x[lv[:, col] == MISSING] = (nlab - 1.5) / nlab  # missing: a little better than else
            score += x
        return score

    def compare(self, i: np.ndarray, j: np.ndarray, only: set[str] | None = None) -> PairLevels:
        """Levels for pairs ``(i[k], j[k])`` (``only``: compute just these comparisons)."""
        i = np.asarray(i, np.int64)
        j = np.asarray(j, np.int64)
        n = len(i)
        s = self.s
        out = np.full((n, len(self.comps)), MISSING, np.int8)
        tfv: dict[str, np.ndarray] = {}
        for k, c in enumerate(self.comps):
            if c.kind != "name" and (only is None or c.name in only):
                out[:, k] = self._simple(c, i, j)
                if c.tf:
                    col = s[f"id_{c.name}" if c.kind == "identifier" else c.column].to_numpy()
                    tfv[c.name] = np.where(out[:, k] == 0, col[i], None)
        if self.name_comps and (only is None or any(c.name in only for _, c in self.name_comps)):
            roles = ("fn", "mn", "sn")
            fa = {r: self.rec_codes[r][i] for r in roles}
            fb = {r: self.rec_codes[r][j] for r in roles}
            nl = self._names(fa, fb)
            chosen = {r: fa[r].copy() for r in roles}  # codes of the names agreed on
            # Pairs whose names disagree somewhere and that have other variants to try.
            exact_all = np.all((nl == 0) | (nl == MISSING), axis=1)
            need = ~exact_all & (self.has_variants[i] | self.has_variants[j])
            rf, rm, rs = (self.rec_first[r] for r in roles)
            swap_may_help = (
                ((rf[i] == rs[j]) | (rs[i] == rf[j]) | (rm[i] == rf[j]) | (rf[i] == rm[j]))
                & (rf[i] != "")
                & (rf[j] != "")
            )
            need &= self.has_alt[i] | self.has_alt[j] | swap_may_help
            if need.any():
                self._best_variants(np.flatnonzero(need), i, j, nl, chosen)
            for col, (k, _) in enumerate(self.name_comps):
                out[:, k] = nl[:, col]
            for k, c in self.name_comps:
                if c.tf:
                    ch = chosen[c.role]
                    val = self.vocab[np.maximum(ch, 0)] if len(self.vocab) else ch.astype(object)
                    tfv[c.name] = np.where((out[:, k] == 0) & (ch >= 0), val, None)
        return PairLevels(i=i, j=j, levels=out, tf_values=tfv)

    def _best_variants(
        self, idx: np.ndarray, i: np.ndarray, j: np.ndarray, nl: np.ndarray, chosen: dict
    ) -> None:
        v = self.variants
        vt = v["vtype"].to_numpy()
        vfn, vmn, vsn = v["fn"].to_numpy(), v["mn"].to_numpy(), v["sn"].to_numpy()
        a, b = i[idx], j[idx]
        # every variant of a × every variant of b, per pair (CSR expansion, no joins)
        pa, rowa = _expand(idx, self.v_start[a], self.v_count[a])
        pb, rowb = _expand(pa, self.v_start[b[pa]], self.v_count[b[pa]])
        pid = idx[pa][pb]
        ra, rb = rowa[pb], rowb
        ta, tb = vt[ra], vt[rb]
        fa_, fb_, sa_, sb_ = vfn[ra], vfn[rb], vsn[ra], vsn[rb]
        # Only combos that could beat the recorded names: same first letter of the
        # forename or of the surname (the recorded pair itself is always kept).
        fl = np.append(self.first, "")  # code -1 → ""
        near = ((fl[fa_] == fl[fb_]) & (fa_ >= 0)) | ((fl[sa_] == fl[sb_]) & (sa_ >= 0))
        swap_a, swap_b = (ta == V_SWAP) | (ta == V_MSWAP), (tb == V_SWAP) | (tb == V_MSWAP)
        keep = ((ta == V_PRIMARY) & (tb == V_PRIMARY)) | (near & ~(swap_a & swap_b))
        ra, rb, pid, ta, tb = ra[keep], rb[keep], pid[keep], ta[keep], tb[keep]
        m = pd.DataFrame({"pid": pid, "ta": ta, "tb": tb})
        fa = {"fn": vfn[ra], "mn": vmn[ra], "sn": vsn[ra]}
        fb = {"fn": vfn[rb], "mn": vmn[rb], "sn": vsn[rb]}
        lv = self._names(fa, fb)
        score = self._name_score(lv)
        # prefer the recorded names on ties, and any other variant to a middle-name swap
        mswap = (ta == V_MSWAP) | (tb == V_MSWAP)
        tie = (ta != V_PRIMARY).astype(np.float64) + (tb != V_PRIMARY) + 0.5 * mswap
        order = np.lexsort((tie, score, m["pid"].to_numpy()))
        pid_sorted = m["pid"].to_numpy()[order]
        first = np.ones(len(order), bool)
        first[1:] = pid_sorted[1:] != pid_sorted[:-1]
        best = order[first]
        rows = m["pid"].to_numpy()[best]
        got = lv[best]
        # A forename found only in the other record's middle names is weaker evidence than
        # the recorded forename: "Mohammed Hussain" is as likely the twin recorded as
        # Mohammed as "Usman Mohammed Hussain" known by his middle name, so the swap
        # reaches at most the comparison's `swap_level`.  Capped after the choice: the cap
        # must not make a forename mismatch with a middle-name match look the better pair.
        swapped = mswap[best]
        if swapped.any():
            for col, (_, c) in enumerate(self.name_comps):
                if c.swap_level is not None:
                    x = got[:, col]
                    low = swapped & (x >= 0) & (x < c.swap_level)
                    got[low, col] = c.swap_level
        nl[rows] = got
        for r in ("fn", "mn", "sn"):
            chosen[r][rows] = fa[r][best]


def master_index_codes(s: pd.DataFrame, master_kinds: tuple[str, ...]) -> np.ndarray | None:
    """Per standardised record, a code for its master index (system and kind), else -1.

    Two records with one code (two nominals of one force, two patients of one trust) are
    a *within-system* pair.  None when the records carry no source columns or the spec
    names no master kinds.
    """
    if not master_kinds or "src" not in s.columns:
        return None
    codes = pd.factorize(s["src"].to_numpy(object))[0]
    master = np.isin(s["src_kind"].to_numpy(object), list(master_kinds))
    return np.where(master, codes, -1).astype(np.int64)
