"""Candidate pairs: the union of several blocking rules, each a pandas join on block keys.

Pairs are returned as two int64 arrays ``(i, j)`` of record positions with ``i < j``.
Name keys (``fn``, ``sn``, ``sn_phonetic``, ``initials``, ``fn_root``) are read from every
name variant, so aliases, former surnames and double-barrelled parts are blocked on too.
``fn_root`` is a forename's canonical names in the ``nicknames`` dataset plus the forename
itself (one row each), so "becky" and "rebecca" share a block.
"""

from __future__ import annotations

import jellyfish
import numpy as np
import pandas as pd

from cpgraph.linkage.comparisons import NamePairs, nickname_roots
from cpgraph.linkage.spec import BlockingRule, Spec
from cpgraph.linkage.standardise import V_ALT, V_PRIMARY, shared_strings

NAME_KEYS = frozenset({"fn", "sn", "sn_phonetic", "initials", "mn", "fn_root"})


def variant_block_table(
    s: pd.DataFrame, variants: pd.DataFrame, spec: Spec, name_pairs: NamePairs = ()
) -> pd.DataFrame:
    """Name variants with their phonetic surname and initials, for blocking.

    ``name_pairs`` (forename variants learned from the data) travel with the table in
    ``attrs`` so that ``fn_root`` keys use them too.
    """
    v = variants[["rec", "vtype", "fn", "mn", "sn"]].copy()
    v.attrs["name_pairs"] = tuple(name_pairs)
    algo = {
        "metaphone": jellyfish.metaphone,
        "soundex": jellyfish.soundex,
        "nysiis": jellyfish.nysiis,
    }[spec.phonetic]
    uniq = pd.unique(v["sn"].dropna())
    ph = {u: (algo(u.replace(" ", "")) or None) for u in uniq}
    v["sn_phonetic"] = v["sn"].map(ph)
    f0 = v["fn"].str[0]
    s0 = v["sn"].str[0]
    ini = (f0 + s0).where(f0.notna() & s0.notna(), None)
    # one string per distinct pair of initials, not one per variant
    v["initials"] = shared_strings(ini)
    return v


def _with_roots(t: pd.DataFrame, name_pairs: NamePairs = ()) -> pd.DataFrame:
    """``t`` with one row per forename root (``fn_root``): the forename and its canonical
    names in the ``nicknames`` dataset.  Only recorded forenames and aliases are used (not
    the order-swap variants, whose "forename" is a surname or middle name: at one postcode
    they would pair every member of a household)."""
    t = t[np.isin(t["vtype"].to_numpy(), (V_PRIMARY, V_ALT))]
    t = t.drop(columns="vtype").dropna(subset=["fn"]).drop_duplicates()
    roots = nickname_roots(name_pairs)
    uniq = pd.unique(t["fn"])
    table = pd.Series(
        [sorted(roots.get(u, frozenset()) | {u}) for u in uniq], index=uniq, dtype=object
    )
    t = t.assign(fn_root=table.reindex(t["fn"]).to_numpy()).explode("fn_root")
    return t


def _table_for(rule: BlockingRule, s: pd.DataFrame, vtable: pd.DataFrame) -> pd.DataFrame:
    keys = list(rule.keys)
    name_keys = [k for k in keys if k in NAME_KEYS]
    other = [k for k in keys if k not in NAME_KEYS]
    for k in other:
        if k not in s.columns:
            raise KeyError(f"blocking key {k!r} is not a standardised column")
    if name_keys:
        if "fn_root" in name_keys:
            rest = [k for k in name_keys if k not in ("fn_root", "fn")]
            t = _with_roots(
                vtable[["rec", "vtype", "fn", *rest]], vtable.attrs.get("name_pairs", ())
            )
            t = t[["rec", *name_keys]]
        else:
            t = vtable[["rec", *name_keys]]
        if other:
            t = t.join(s[other], on="rec")
    else:
        t = s[other].copy()
        t.insert(0, "rec", np.arange(len(s), dtype=np.int64))
    t = t.dropna(subset=keys)
    for k in keys:
        if t[k].dtype.kind in "iu":
            t = t[t[k] >= 0]
    return t


def _codes(t: pd.DataFrame, keys: list[str]) -> np.ndarray:
    if len(keys) == 1:
        return pd.factorize(t[keys[0]])[0].astype(np.int64)
    return t.groupby(keys, sort=False, dropna=True).ngroup().to_numpy(np.int64)


def year_slip_pairs(years: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Whether each pair's birth years are one keying slip apart (22-recall11).

    One year out (1989 / 1990), or the year's last two digits transposed (1987 / 1978).
    Not the same year, and not the tens digit alone (1995 / 1985): ten years apart, a
    namesake's year as often as a slip.  ``years`` is per record, ``-1`` unknown.
    """
    ya, yb = years[i], years[j]
    ra, rb = ya % 100, yb % 100
    swapped = (ya // 100 == yb // 100) & (ra // 10 == rb % 10) & (ra % 10 == rb // 10) & (ra != rb)
    return (ya >= 0) & (yb >= 0) & ((np.abs(ya - yb) == 1) | swapped)


def _slip_years(s: pd.DataFrame, rule: BlockingRule) -> np.ndarray | None:
    """Per record, the birth year a ``year_slip`` rule reads (None: the rule has none)."""
    if not rule.year_slip:
        return None
    return s["dob_y"].to_numpy(np.int64)


def _keep_slips(
    years: np.ndarray | None, i: np.ndarray, j: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(i, j)`` without the pairs a ``year_slip`` rule does not make."""
    if years is None or not len(i):
        return i, j
    k = year_slip_pairs(years, i, j)
    return i[k], j[k]


def rule_pairs(
    rule: BlockingRule,
    s: pd.DataFrame,
    vtable: pd.DataFrame,
    max_block_size: int,
    left: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs agreeing on every key of ``rule``.

    Args:
        rule: the blocking rule.
        s: standardised records.
        vtable: :func:`variant_block_table` output.
        max_block_size: blocks with more distinct records are skipped (both modes alike).
        left: when given, a boolean mask over records: only pairs touching one of them.

    Returns:
        ``(i, j)`` with ``i < j`` (may contain duplicates across variants; not sorted).
    """
    t = _table_for(rule, s, vtable)
    if left is not None:
        t = _touching(t, list(rule.keys), left)
    if t.empty:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    code = _codes(t, list(rule.keys))
    kr = pd.DataFrame({"code": code, "rec": t["rec"].to_numpy(np.int64)}).drop_duplicates()
    recs = kr["rec"].to_numpy()
    miss = _missing_mask(s, rule.one_side_missing)
    i, j = block_pairs(
        kr,
        max_block_size,
        None if miss is None else miss[recs],
        None if left is None else left[recs],
    )
    return _keep_slips(_slip_years(s, rule), i, j)


def block_pairs(
    kr: pd.DataFrame, max_block_size: int, miss: np.ndarray | None, left: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of the blocks of ``kr`` within the size cap (local and Dask engines).

    Args:
        kr: distinct (block ``code``, record ``rec``) rows.
        max_block_size: blocks with more distinct records are skipped.
        miss: per row, whether its record lacks the rule's one-side-missing column
            (None: the rule has none).
        left: per row, whether its record is in the delta (incremental); None: all.

    Returns:
        ``(i, j)`` with ``i < j`` (duplicates possible; not sorted).
    """
    size = kr.groupby("code")["rec"].transform("size").to_numpy()
    ok = (size >= 2) & (size <= max_block_size)
    kr = kr[ok]
    if miss is not None:
        return missing_side_pairs(kr, miss[ok], None if left is None else left[ok])
    lhs = kr if left is None else kr[left[ok]]
    if lhs.empty:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    m = lhs.merge(kr, on="code", suffixes=("_a", "_b"))
    a = m["rec_a"].to_numpy()
    b = m["rec_b"].to_numpy()
    keep = a != b if left is not None else a < b
    a, b = a[keep], b[keep]
    return np.minimum(a, b), np.maximum(a, b)


def missing_side_pairs(
    kr: pd.DataFrame, miss: np.ndarray, left: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of a one-side-missing rule from its block rows (local and Dask engines).

    Args:
        kr: one row per (block ``code``, record ``rec``).
        miss: per row, whether its record lacks the rule's column.
        left: per row, whether its record is in the delta (incremental); None: all.

    Returns:
        ``(i, j)`` with ``i < j``: a lacking record with any other of its block (two
        lacking ones once); with ``left``, only pairs touching it (duplicates possible).
    """
    kr = kr[["code", "rec"]].assign(miss=miss)
    # The lacking side drives the join. With a delta, a lacking `left` record meets its
    # whole block and a lacking record the block's `left` ones: every lacking record
    # against its whole block, filtered afterwards, was ~650M rows for a 1% delta at
    # 1.29M mentions (killed at 14.7 GB).
    sides = [(kr[miss], kr)]
    if left is not None:
        sides = [(kr[miss & left], kr), (kr[miss], kr[left])]
    aa, bb = [], []
    for lhs, rhs in sides:
        m = lhs.merge(rhs, on="code", suffixes=("_a", "_b"))
        a, b = m["rec_a"].to_numpy(np.int64), m["rec_b"].to_numpy(np.int64)
        keep = (a != b) & (~m["miss_b"].to_numpy(bool) | (a < b))  # both lacking: once
        aa.append(a[keep])
        bb.append(b[keep])
    a, b = np.concatenate(aa), np.concatenate(bb)
    return np.minimum(a, b), np.maximum(a, b)


def _touching(t: pd.DataFrame, keys: list[str], left: np.ndarray) -> pd.DataFrame:
    """The rows of ``t`` that may share a block with a ``left`` record.

    A row is kept when each of its key values is one some ``left`` row has: every block
    holding a ``left`` record is kept whole (its size, and so the block-size cap, is
    unchanged), and a small delta is grouped into blocks without grouping every record.
    """
    for k in keys:
        hit = left[t["rec"].to_numpy(np.int64)]
        if not hit.any():
            return t.iloc[:0]
        col = t[k]
        t = t[col.isin(pd.unique(col.to_numpy()[hit])).to_numpy()]
    return t


def block_pair_count(
    rule: BlockingRule, s: pd.DataFrame, vtable: pd.DataFrame, max_block_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Block codes per record and the pairs each block makes (before deduplication).

    Returns:
        ``(code, rec)`` rows of the blocks that make pairs, and per code the pair count
        (indexed by code).
    """
    t = _table_for(rule, s, vtable)
    if t.empty:
        return pd.DataFrame({"code": [], "rec": []}), np.zeros(0, np.int64)
    code = _codes(t, list(rule.keys))
    kr = pd.DataFrame({"code": code, "rec": t["rec"].to_numpy(np.int64)}).drop_duplicates()
    size = np.bincount(kr["code"].to_numpy(), minlength=int(code.max()) + 1)
    ok = (size >= 2) & (size <= max_block_size)
    kr = kr[ok[kr["code"].to_numpy()]]
    return kr, np.where(ok, size * (size - 1) // 2, 0)


def sampled_rule_pairs(
    rule: BlockingRule,
    s: pd.DataFrame,
    vtable: pd.DataFrame,
    max_block_size: int,
    max_pairs: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Pairs of a random subset of ``rule``'s blocks (about ``max_pairs``), for training.

    Rules whose blocks grow with the population (forename + surname) make pairs in
    proportion to its square; training needs only a sample, so whole blocks are drawn
    at random until about ``max_pairs`` pairs are reached, and the full rule's pair count
    is returned as an estimate (for the prior).  Small rules are returned whole.

    Returns:
        ``(i, j, estimated_total_pairs)`` with ``i < j`` (duplicates possible).
    """
    kr, per_block = block_pair_count(rule, s, vtable, max_block_size)
    total = float(per_block.sum())
    if total <= 3 * max_pairs:
        a, b = rule_pairs(rule, s, vtable, max_block_size)
        return a, b, -1.0
    blocks = np.flatnonzero(per_block)
    blocks = blocks[rng.permutation(len(blocks))]
    take = blocks[: int(np.searchsorted(np.cumsum(per_block[blocks]), max_pairs)) + 1]
    sel = np.zeros(len(per_block), bool)
    sel[take] = True
    sub = kr[sel[kr["code"].to_numpy()]]
    m = sub.merge(sub, on="code", suffixes=("_a", "_b"))
    a = m["rec_a"].to_numpy()
    b = m["rec_b"].to_numpy()
    keep = a < b
    return a[keep], b[keep], total


def _missing_mask(s: pd.DataFrame, column: str | None) -> np.ndarray | None:
    """Records lacking ``column`` (None when the rule has no such condition)."""
    if column is None:
        return None
    if column not in s.columns:
        raise KeyError(f"one_side_missing column {column!r} is not a standardised column")
    v = s[column].to_numpy()
    return (v < 0) if v.dtype.kind in "iu" else pd.isna(v)


def unique_pairs(i: np.ndarray, j: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Deduplicate and sort pairs (hash-based deduplication, then a sort of the rest)."""
    code = pd.unique(i.astype(np.int64) * n + j.astype(np.int64))
    code.sort()
    return code // n, code % n


def candidate_pairs(
    s: pd.DataFrame,
    vtable: pd.DataFrame,
    spec: Spec,
    *,
    link_only: bool = False,
    left: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The union of every blocking rule's pairs.

    Args:
        s: standardised records.
        vtable: :func:`variant_block_table` output.
        spec: blocking rules and block-size cap.
        link_only: keep only pairs between different ``grp`` (source systems/files).
        left: optional mask of records whose pairs are wanted (incremental mode).

    Returns:
        Sorted unique ``(i, j)`` arrays, ``i < j``.
    """
    n = len(s)
    if left is not None and not left.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)  # nothing new or changed
    ii, jj = [], []
    for rule in spec.blocking:
        if any(k not in s.columns and k not in NAME_KEYS for k in rule.keys):
            continue  # a rule on a column this data set does not have
        a, b = rule_pairs(rule, s, vtable, spec.max_block_size, left)
        ii.append(a)
        jj.append(b)
    if not ii:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    i, j = unique_pairs(np.concatenate(ii), np.concatenate(jj), max(n, 1))
    if link_only:
        g = s["grp"].to_numpy()
        keep = g[i] != g[j]
        i, j = i[keep], j[keep]
    return i, j


def random_pairs(
    s: pd.DataFrame, count: int, seed: int, *, link_only: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random distinct pairs (for u-probabilities)."""
    n = len(s)
    if n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rng = np.random.default_rng(seed)
    total = n * (n - 1) // 2
    count = int(min(count, total))
    i = rng.integers(0, n, size=count * 2)
    j = rng.integers(0, n, size=count * 2)
    keep = i != j
    if link_only:
        g = pd.factorize(s["grp"])[0]
        keep &= g[i] != g[j]
    i, j = i[keep][:count], j[keep][:count]
    return np.minimum(i, j), np.maximum(i, j)


# ---------------------------------------------------------------------- streamed pairs
PAIR_BLOCK = 2_000_000  # candidate pairs (before deduplication) per streamed block


class RuleBlocks:
    """One rule's blocks, held compactly to make its pairs one record range at a time.

    ``recs`` are the member records of every kept block (2 to ``max_block_size``
    distinct records), sorted by block then record; per (block, record) row, sorted by
    record, ``nxt``/``end`` bound the members of its block after it. The pairs with
    ``i`` in a record range are then ``(rec, recs[nxt:end])`` for that range's rows: no
    join, and nothing held but int32 arrays the size of the rule's key table.
    """

    def __init__(
        self,
        rule: BlockingRule,
        s: pd.DataFrame,
        vtable: pd.DataFrame,
        max_block_size: int,
        left: np.ndarray | None = None,
    ) -> None:
        """Build the rule's block table (see :func:`rule_pairs` for the semantics).

        With ``left`` (a delta's mask over records) only the blocks holding a ``left``
        record are kept, each whole (so the block-size cap reads the same sizes).
        """
        n = len(s)
        t = _table_for(rule, s, vtable)
        if left is not None:
            t = _touching(t, list(rule.keys), left)
        code = _codes(t, list(rule.keys)) if len(t) else np.empty(0, np.int64)
        kr = pd.DataFrame({"code": code, "rec": t["rec"].to_numpy(np.int64)}).drop_duplicates()
        del t, code
        c = kr["code"].to_numpy(np.int64)
        r = kr["rec"].to_numpy(np.int64)
        del kr
        size = np.bincount(c, minlength=int(c.max()) + 1 if len(c) else 0)
        ok = (size >= 2) & (size <= max_block_size)
        keep = ok[c] if len(c) else np.zeros(0, bool)
        c, r = c[keep], r[keep]
        order = np.lexsort((r, c))
        c, self.recs = c[order], r[order].astype(np.int32)
        del order
        # the end of each row's block (rows of one block are contiguous)
        last = np.r_[c[1:] != c[:-1], True] if len(c) else np.zeros(0, bool)
        ends = np.flatnonzero(last) + 1
        end = np.repeat(ends, np.diff(np.r_[0, ends])).astype(np.int32)
        by_rec = np.argsort(self.recs, kind="stable")
        self.nxt = (by_rec + 1).astype(np.int32)
        self.end = end[by_rec]
        self.ptr = np.searchsorted(self.recs[by_rec], np.arange(n + 1)).astype(np.int64)
        self.miss = _missing_mask(s, rule.one_side_missing)
        self.slip_years = _slip_years(s, rule)
        self._ends: np.ndarray | None = None  # block ends in block order (a delta's pairs)

    def counts(self) -> np.ndarray:
        """Per record, the pairs it makes as the smaller position (duplicates counted)."""
        n = len(self.ptr) - 1
        per_row = (self.end - self.nxt).astype(np.int64)
        rec_of_row = np.repeat(np.arange(n), np.diff(self.ptr))
        return np.bincount(rec_of_row, weights=per_row, minlength=n).astype(np.int64)

    def pairs(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Pairs ``(i, j)``, ``i < j``, of records ``lo <= i < hi`` (duplicates possible)."""
        a0, a1 = int(self.ptr[lo]), int(self.ptr[hi])
        nxt = self.nxt[a0:a1].astype(np.int64)
        lens = self.end[a0:a1].astype(np.int64) - nxt
        total = int(lens.sum())
        if not total:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        rows = np.repeat(np.arange(a1 - a0), lens)
        offs = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens)
        j = self.recs[nxt[rows] + offs].astype(np.int64)
        i = np.repeat(np.repeat(np.arange(lo, hi), np.diff(self.ptr[lo : hi + 1])), lens)
        if self.miss is not None:
            # only pairs where a side lacks the column
            keep = self.miss[i] | self.miss[j]
            i, j = i[keep], j[keep]
        return _keep_slips(self.slip_years, i, j)

    def _rows_of(self, recs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The block rows of ``recs`` (by record) and, per row, its record's index in
        ``recs``."""
        lo, cnt = self.ptr[recs], np.diff(self.ptr)[recs]
        total = int(cnt.sum())
        rows = np.repeat(lo, cnt) + np.arange(total, dtype=np.int64)
        rows -= np.repeat(np.cumsum(cnt) - cnt, cnt)
        return rows, np.repeat(np.arange(len(recs)), cnt)

    def _block_bounds(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the blocks of ``rows`` (by-record rows) start and end in ``recs``."""
        if self._ends is None:
            # in block order each row's block end; non-decreasing, so a block's first
            # row is the first position holding its end
            self._ends = np.empty(len(self.recs), np.int32)
            self._ends[self.nxt - 1] = self.end
        end = self.end[rows].astype(np.int64)
        return np.searchsorted(self._ends, end, side="left").astype(np.int64), end

    def touching_counts(self, recs: np.ndarray) -> np.ndarray:
        """Per record of ``recs``, the pairs :meth:`touching` may make for it."""
        rows, at = self._rows_of(recs)
        beg, end = self._block_bounds(rows)
        return np.bincount(at, weights=end - beg - 1, minlength=len(recs)).astype(np.int64)

    def touching(self, recs: np.ndarray, left: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs ``(i, j)``, ``i < j``, of each of ``recs`` with the rest of its blocks.

        ``recs`` (sorted) are ``left`` records. A pair of two ``left`` records is made
        only by its smaller one, so over a delta split into parts every pair touching
        it is made once per rule, whatever the parts (duplicates across rules remain).
        """
        rows, idx = self._rows_of(recs)
        owner = recs.astype(np.int64)[idx]
        beg, end = self._block_bounds(rows)
        lens = end - beg
        total = int(lens.sum())
        if not total:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        at = np.repeat(beg, lens) + np.arange(total, dtype=np.int64)
        at -= np.repeat(np.cumsum(lens) - lens, lens)
        j = self.recs[at].astype(np.int64)
        del at
        i = np.repeat(owner, lens)
        keep = (i != j) & (~left[j] | (i < j))
        if self.miss is not None:
            keep &= self.miss[i] | self.miss[j]  # only pairs where a side lacks the column
        i, j = _keep_slips(self.slip_years, i[keep], j[keep])
        return np.minimum(i, j), np.maximum(i, j)


def pair_plan(blocks: list[RuleBlocks], n: int, target: int = PAIR_BLOCK) -> list[tuple[int, int]]:
    """Record ranges ``[lo, hi)`` whose pairs (as smaller position) are about ``target``.

    A range is never empty and one record's pairs are never split, so a range can exceed
    ``target`` by one record's pairs (at most rules × ``max_block_size``).
    """
    if n == 0:
        return []
    per = np.zeros(n, np.int64)
    for b in blocks:
        per += b.counts()
    return _cut(per, target)


def _cut(per: np.ndarray, target: int) -> list[tuple[int, int]]:
    """Ranges of positions whose ``per`` (pairs each) sum to about ``target``."""
    n = len(per)
    cum = np.cumsum(per)
    cuts = np.searchsorted(cum, np.arange(target, int(cum[-1]) + target, target), side="left")
    bounds = np.unique(np.r_[0, np.minimum(cuts + 1, n), n])
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def delta_plan(
    blocks: list[RuleBlocks], recs: np.ndarray, target: int = PAIR_BLOCK
) -> list[tuple[int, int]]:
    """Ranges ``[lo, hi)`` of ``recs`` (a delta's records, sorted) whose pairs
    (:meth:`RuleBlocks.touching`) are about ``target``; one record's never split."""
    if not len(recs):
        return []
    per = np.zeros(len(recs), np.int64)
    for b in blocks:
        per += b.touching_counts(recs)
    return _cut(per, target)


def delta_pairs(
    blocks: list[RuleBlocks],
    recs: np.ndarray,
    left: np.ndarray,
    n: int,
    grp: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct candidate pairs that :meth:`RuleBlocks.touching` makes for ``recs``.

    Concatenated over :func:`delta_plan`'s ranges of a delta's records, these are
    :func:`candidate_pairs`' pairs with ``left`` (each once), without ever holding them
    all: a 1% delta at 1.29M mentions made them at once and ran out of memory.

    Args:
        blocks: :func:`rule_blocks` output (built with ``left``).
        recs: a sorted part of the delta's records.
        left: the delta's mask over records.
        n: the number of records.
        grp: with link-only linkage, each record's group (pairs within one dropped).
    """
    return _distinct([b.touching(recs, left) for b in blocks], n, grp)


def rule_blocks(
    s: pd.DataFrame, vtable: pd.DataFrame, spec: Spec, left: np.ndarray | None = None
) -> list[RuleBlocks]:
    """Every usable blocking rule's :class:`RuleBlocks` (rules on absent columns skipped).

    With ``left``, only the blocks holding one of its records (a delta's pairs).
    """
    return [
        RuleBlocks(rule, s, vtable, spec.max_block_size, left)
        for rule in spec.blocking
        if not any(k not in s.columns and k not in NAME_KEYS for k in rule.keys)
    ]


def range_pairs(
    blocks: list[RuleBlocks],
    lo: int,
    hi: int,
    n: int,
    grp: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct candidate pairs with ``lo <= i < hi``, sorted (``i`` then ``j``).

    Every pair of every rule whose smaller position is in the range is made here, so
    deduplicating within the range deduplicates across the whole run: concatenated over
    :func:`pair_plan`'s ranges in order these are :func:`candidate_pairs`' pairs.

    Args:
        blocks: :func:`rule_blocks` output.
        lo, hi: the record range.
        n: the number of records.
        grp: with link-only linkage, each record's group (pairs within one dropped).
    """
    return _distinct([b.pairs(lo, hi) for b in blocks], n, grp)


def _distinct(
    parts: list[tuple[np.ndarray, np.ndarray]], n: int, grp: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The rules' pairs made distinct and sorted; with ``grp``, pairs within one dropped."""
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    i, j = unique_pairs(
        np.concatenate([a for a, _ in parts]), np.concatenate([b for _, b in parts]), max(n, 1)
    )
    if grp is not None:
        keep = grp[i] != grp[j]
        i, j = i[keep], j[keep]
    return i, j
