"""Score pairs: Fellegi–Sunter weights, deterministic identifier rules, cannot-links.

* Deterministic: equal valid identifier of a ``deterministic`` comparison links outright
  unless the pair has a different date of birth *and* a different sex, or a different
  valid identifier of another cannot-link kind.
* Cannot-link: two different valid identifiers of one ``cannot_link`` kind; household
  look-alike guard (same surname and address/postcode, but a different forename, a
  different known sex, or birth dates ``dob_years_apart`` or more apart and not a typo;
  spec v10 also: inside one index, a forename that is only the other's middle name, and
  in the listed index kinds one exact name twice with a birth date missing; a Jr/Sr
  against an index record with neither suffix nor birth date);
  birth years that cannot be reconciled with the generations stated relationships imply
  (a name-only "father of" a 2014-born boy is not that boy's namesake twin brother).
* Kept apart for review: a guard the spec lists as ``reviewable`` keeps its pair apart
  like a cannot-link (never merged automatically) but adds no penalty to the pair's
  weight, and the pair carries the guard (``kept``) so that, at or above ``review``, it
  is a possible match with the guard as its reason.  Any hard rule of the pair wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from rapidfuzz.distance import OSA, JaroWinkler

from cpgraph.contract.identifiers import parse_pnc
from cpgraph.linkage.comparisons import (
    MISSING,
    Comparer,
    PairLevels,
    code_levels,
    master_index_codes,
    nickname_neighbours,
    string_levels,
)
from cpgraph.linkage.model import Model, probability
from cpgraph.linkage.relationships import slip_range
from cpgraph.linkage.spec import Level, Spec


@dataclass
class ScoredPairs:
    """Scores of a batch of pairs (all arrays aligned with ``levels.i``)."""

    levels: PairLevels
    comp_weights: np.ndarray  # (n, n_comparisons), TF included
    weight: np.ndarray  # total bits incl. prior, guard penalty
    probability: np.ndarray
    deterministic: np.ndarray  # object: identifier name or None
    cannot: np.ndarray  # bool
    guard: np.ndarray  # bool: household look-alike guard fired
    cannot_identifier: np.ndarray  # object: identifier name or None
    # int8: 1 + the index in ``spec.guard_reviewable`` of the reviewable guard that alone
    # keeps the pair apart; 0: none (no guard, or a hard rule)
    kept: np.ndarray
    age_conflict: np.ndarray | None = None  # bool: relationship-implied birth years clash
    same_source: np.ndarray | None = None  # float: same master index penalty (bits)

    @property
    def evidence(self) -> np.ndarray:
        """Bayes factor in bits, prior excluded (guard penalty included)."""
        penal = self.guard if self.age_conflict is None else (self.guard | self.age_conflict)
        ev = self.comp_weights.sum(axis=1) + np.where(penal, self._guard_w, 0.0)
        return ev if self.same_source is None else ev + self.same_source

    _guard_w: float = 0.0

    def take(self, mask: np.ndarray) -> ScoredPairs:
        """The pairs selected by a boolean ``mask``."""
        pl = self.levels
        sub = PairLevels(
            i=pl.i[mask],
            j=pl.j[mask],
            levels=pl.levels[mask],
            tf_values={k: v[mask] for k, v in pl.tf_values.items()},
        )
        out = ScoredPairs(
            levels=sub,
            comp_weights=self.comp_weights[mask],
            weight=self.weight[mask],
            probability=self.probability[mask],
            deterministic=self.deterministic[mask],
            cannot=self.cannot[mask],
            guard=self.guard[mask],
            cannot_identifier=self.cannot_identifier[mask],
            age_conflict=None if self.age_conflict is None else self.age_conflict[mask],
            same_source=None if self.same_source is None else self.same_source[mask],
            kept=self.kept[mask],
        )
        out._guard_w = self._guard_w
        return out


def same_source_weights(
    codes: np.ndarray | None,
    model: Model | None,
    spec: Spec,
    i: np.ndarray,
    j: np.ndarray,
    levels: np.ndarray | None = None,
    own: np.ndarray | None = None,
) -> np.ndarray:
    """Weight (bits) each pair gets for lying within one master index or across two.

    With a learned model (the spec's ``learn_same_source``) it is the Fellegi–Sunter
    weight of that binary comparison, for pairs of two master records only; otherwise
    the spec's fixed ``same_source_weight`` for within-system pairs (0 elsewhere).
    With the pairs' ``levels`` and the spec's ``search_miss_weight``, a within-system
    pair its index's own search would have missed (:func:`search_miss`) gets that weight;
    with ``own`` (per record: it carries its index's own identifier) and the spec's
    ``untraced_weight``, so does an untraced registration beside a traced one
    (:func:`untraced`).
    """
    if codes is None:
        return np.zeros(len(i))
    a, b = codes[i], codes[j]
    same = (a >= 0) & (a == b)
    learned = model.same_source_weights if model is not None else None
    if spec.same_source_learn and learned is not None:
        both = (a >= 0) & (b >= 0)
        out = np.where(same, learned[0], np.where(both, learned[1], 0.0))
    else:
        out = np.where(same, spec.same_source_weight, 0.0)
    if levels is not None and spec.search_miss_weight is not None:
        out = np.where(same & search_miss(spec, levels), spec.search_miss_weight, out)
    if levels is not None and own is not None and spec.untraced_weight is not None:
        out = np.where(same & untraced(spec, levels, own[i], own[j]), spec.untraced_weight, out)
    return out


def untraced(spec: Spec, levels: np.ndarray, own_a: np.ndarray, own_b: np.ndarray) -> np.ndarray:
    """Pairs (of one index: the caller says which) of a traced and an untraced record.

    19-within8 (issue #19): an index issues or traces its own identifier for the people it
    registers (a hospital traces the NHS number, a force its PNC ID).  A registration
    without one, beside a record of the same index that has it and agrees on name, birth
    date and sex at ``search_miss_levels``' levels (exact included), is the registration
    the index could not trace: an A&E or temporary patient, a nominal created on the
    night.  The index's de-duplication never compared it with the traced record, so it is
    no evidence of two people.  Two records that both carry the identifier are left to it
    (equal: one person; different: a cannot-link), and two untraced records to the learned
    weight.  ``own_a``/``own_b``: per pair, whether each record carries its index's own
    identifier.
    """
    ok, _ = _search_levels(spec, levels)
    return ok & (own_a != own_b)


def own_identifier_flags(s: pd.DataFrame, spec: Spec) -> np.ndarray | None:
    """Per standardised record, whether it carries its index's own identifier (the
    spec's ``own_identifiers`` for its kind); None when the spec lists none."""
    if not spec.own_identifiers or "src_kind" not in s.columns:
        return None
    kind = s["src_kind"].to_numpy(object)
    out = np.zeros(len(s), bool)
    for k, name in spec.own_identifiers:
        col = f"id_{name}"
        if col in s.columns:
            out |= (kind == k) & s[col].notna().to_numpy()
    return out


def search_miss(spec: Spec, levels: np.ndarray) -> np.ndarray:
    """Pairs whose levels are a variant an index's own registration search misses.

    17-within7 (issue #19): an index searches for the person in front of it before it
    registers them (name, birth date, sex).  Two of its records that agree on each of
    ``search_miss_levels``' comparisons at one of its levels (a nickname, a misspelt
    surname, a birth date one keying slip off), but not on all at the first (exact)
    level, are a second registration that search could not find: the index's
    de-duplication is no evidence they are two people.  An exact match it did find and
    registered anyway is (left to the learned weight).  Levels only: the caller says
    which pairs lie in one index.
    """
    ok, first = _search_levels(spec, levels)
    return ok & ~first


def _search_levels(spec: Spec, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: every ``search_miss_levels`` comparison at one of its listed levels,
    and every one at its first (exact) level (both False when the spec lists none)."""
    n = len(levels)
    if not spec.search_miss_levels:
        return np.zeros(n, bool), np.zeros(n, bool)
    ok = np.ones(n, bool)
    first = np.ones(n, bool)
    for name, labels in spec.search_miss_levels:
        k = spec.names.index(name)
        want = spec.comparison(name).codes(labels)
        lv = levels[:, k].astype(np.int64)
        ok &= np.isin(lv, want)
        first &= lv == 0
    return ok, first


def _pnc_issue_year(value: object) -> float:
    """The four-digit year of issue of a PNC ID as the loaders write it (NaN if none)."""
    parts = parse_pnc(value) if isinstance(value, str) else None
    return float(parts[0]) if parts is not None and len(parts[0]) == 4 else np.nan


def _find(spec: Spec, pred) -> int | None:
    for k, c in enumerate(spec.comparisons):
        if pred(c):
            return k
    return None


@dataclass
class RuleOutcome:
    """Model-free rule outcomes of a batch of pairs."""

    deterministic: np.ndarray  # object: identifier name or None (after contradictions)
    cannot_identifier: np.ndarray  # object
    guard: np.ndarray  # bool
    age_conflict: np.ndarray  # bool
    cannot: np.ndarray  # bool: any cannot-link (never when deterministic holds)
    kept: np.ndarray  # int8: reviewable guard code (see ScoredPairs.kept)


_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1 << 16)
def _address_words(address: object) -> frozenset[str]:
    """The words and numbers of a recorded address (lower case; none when absent)."""
    if not isinstance(address, str):
        return frozenset()
    return frozenset(_WORD.findall(address.lower()))


def _addresses_apart(a: object, b: object) -> bool:
    """Two recorded addresses with no word or number in common (both recorded)."""
    wa, wb = _address_words(a), _address_words(b)
    return bool(wa) and bool(wb) and wa.isdisjoint(wb)


class Scorer:
    """Applies a fitted model and the spec's rules to pairs.

    Args:
        comparer: comparer over the standardised records.
        model: the fitted model (None: only :meth:`rules` may be used).
        spec: the linkage spec.
        year_lo, year_hi: per-record birth-year bounds implied by stated relationships
            (see :func:`cpgraph.linkage.relationships.year_bounds`); None: unbounded.
    """

    YEAR_TOLERANCE = 1  # a typo in a year must not make a cannot-link

    def __init__(
        self,
        comparer: Comparer,
        model: Model | None,
        spec: Spec,
        year_lo: np.ndarray | None = None,
        year_hi: np.ndarray | None = None,
    ) -> None:
        self.comparer = comparer
        self.model = model
        self.spec = spec
        self.set_year_bounds(year_lo, year_hi)
        s = spec
        self.k_fn = _find(s, lambda c: c.kind == "name" and c.role == "fn")
        self.k_sn = _find(s, lambda c: c.kind == "name" and c.role == "sn")
        self.k_mn = _find(s, lambda c: c.kind == "name" and c.role == "mn")
        self.k_dob = _find(s, lambda c: c.kind == "date")
        self.k_sex = _find(s, lambda c: c.column == "sex")
        self.k_pc = _find(s, lambda c: c.kind == "postcode_uk" or c.column == "pc")
        self.k_addr = _find(s, lambda c: c.column == "address")
        self.det = [(k, c.name) for k, c in enumerate(s.comparisons) if c.deterministic]
        self._src = (
            master_index_codes(comparer.s, s.master_kinds)
            if (
                s.same_source_weight
                or s.same_source_cannot
                or s.same_source_learn
                or s.same_source_conflicts
            )
            else None
        )
        self._own = own_identifier_flags(comparer.s, s) if self._src is not None else None
        self.cl = [(k, c.name) for k, c in enumerate(s.comparisons) if c.cannot_link]
        self._conflicts = [s.names.index(name) for name in s.same_source_conflicts]
        # per record, what the index guards read: it does not depend on the pairs, so it
        # is made once here rather than in every score chunk
        cs = comparer.s
        self._namesake_index = (
            np.isin(cs["src_kind"].to_numpy(object), list(s.guard_index_namesakes))
            if s.guard_index_namesakes
            else None
        )
        self._gen = cs["gen"].to_numpy(object) if "gen" in cs.columns else None
        self._stems: np.ndarray | None = None  # per name code, its first letters' code
        self._real_fn: np.ndarray | None = None  # per name code, a name the nickname data knows
        self._sn_words: np.ndarray | None = None  # per record, its surname's words
        self._on_file: dict | None = None  # 19-alike8: an index's dated records by name and place
        self._dated_at: dict | None = None  # 24-alike13: dated records by postcode
        # an index's own record with neither a generation suffix nor a birth year
        self._bare = (
            (self._src >= 0) & (cs["dob_y"].to_numpy() < 0) & (self._gen == None)  # noqa: E711
            if s.guard_generation_one_side and self._src is not None and self._gen is not None
            else None
        )

    @property
    def source_codes(self) -> np.ndarray | None:
        """Per record, its master index (system and kind) code; -1 or None: not one."""
        return self._src

    @property
    def own_ids(self) -> np.ndarray | None:
        """Per record, whether it carries its index's own identifier (None: not read)."""
        return self._own

    def _other_surnames(self, i: np.ndarray, j: np.ndarray, look: np.ndarray) -> np.ndarray:
        """Per pair (``look``: the pairs to read), whether the two records' recorded
        surnames are both known and two names: Jaro-Winkler below the spec's
        ``guard_index_namesakes_alias_jw`` (a keying slip of one surname is not)."""
        out = np.zeros(len(i), bool)
        k = np.flatnonzero(look)
        if not len(k):
            return out
        sn = self.comparer.s["sn"].to_numpy(object)
        a, b = sn[i[k]], sn[j[k]]
        known = np.array([bool(x) and bool(y) for x, y in zip(a, b, strict=True)], bool)
        sim = np.array(
            [
                JaroWinkler.normalized_similarity(str(x), str(y)) if ok else 1.0
                for x, y, ok in zip(a, b, known, strict=True)
            ]
        )
        out[k] = known & (sim < self.spec.guard_index_namesakes_alias_jw - 1e-9)
        return out

    def _label_in(self, lv: np.ndarray, k: int, labels: tuple[str, ...]) -> np.ndarray:
        comp_labels = self.spec.comparisons[k].labels
        allowed = [x for x, lab in enumerate(comp_labels) if lab in labels]
        return np.isin(lv[:, k], allowed)

    def _is_else(self, lv: np.ndarray, k: int | None) -> np.ndarray:
        if k is None:
            return np.zeros(len(lv), bool)
        return lv[:, k] == len(self.spec.comparisons[k].levels)

    def guard(self, pl: PairLevels) -> tuple[np.ndarray, np.ndarray]:
        """Household look-alike guards per pair: the hard ones, and the reviewable one.

        Returns:
            ``(hard, kept)``: a bool per pair (a hard guard fired) and an int8 per pair,
            1 + the index in ``spec.guard_reviewable`` of a reviewable guard that fired
            (0: none; where several did, the first listed).
        """
        lv = pl.levels
        n = len(lv)
        soft: dict[str, np.ndarray] = {}
        if not self.spec.guard_household or self.k_sn is None:
            return np.zeros(n, bool), np.zeros(n, np.int8)
        same_sn = self._label_in(lv, self.k_sn, self.spec.guard_surname_levels)
        home = np.zeros(n, bool)
        if self.k_pc is not None:
            home |= lv[:, self.k_pc] == 0
        if self.k_addr is not None:
            home |= lv[:, self.k_addr] == 0
        fn_differ = self._is_else(lv, self.k_fn)
        typo_sn = np.zeros(n, bool)
        typo_cross = np.zeros(n, bool)  # 24: the same, across two agencies
        typo_levels = self.spec.guard_index_household_typo_levels
        if typo_levels and self._src is not None:
            src = self._src
            typo_any = self._label_in(lv, self.k_sn, typo_levels) & ~same_sn & home
            one_index = (src[pl.i] >= 0) & (src[pl.i] == src[pl.j])
            typo_sn = typo_any & one_index
            if self.spec.guard_household_typo_any_index:
                typo_cross = typo_any & ~one_index
        # 24: one index's records of one surname and birth date at two addresses
        index_apart = np.zeros(n, bool)
        if (
            self.spec.guard_index_twins_forename_anywhere
            and self._src is not None
            and self.k_dob is not None
        ):
            src = self._src
            index_apart = (
                same_sn
                & ~home
                & (lv[:, self.k_dob] == 0)
                & (src[pl.i] >= 0)
                & (src[pl.i] == src[pl.j])
            )
        thr, edits = self.spec.guard_nickname_typo, self.spec.guard_nickname_typo_edits
        if thr > 0 or edits > 0:
            # "Sue" and "Susna" (a misspelt Susan) name one woman, not two sisters
            near = ((same_sn | typo_sn | typo_cross) & home) | index_apart
            look = np.flatnonzero(near & fn_differ)
            if len(look):
                typo = self.comparer.nickname_typo(pl.i[look], pl.j[look], thr or 1.0, edits)
                fn_differ[look[typo]] = False
        if index_apart.any():
            # 24: an index searches by surname and birth date wherever the person lives
            # (20-alike9), so a second registration of that surname and date under an
            # unrelated forename was made with the first in front of the desk: her twin
            soft["index_twins_forename"] = index_apart & fn_differ
        if self.spec.guard_middle_names_differ and self.k_mn is not None:
            soft["different_middle_names"] = self._middle_names_differ(pl, same_sn | typo_sn)
        if self.spec.guard_index_twins and self._src is not None and self.k_dob is not None:
            # one index, one address, one birth date: its own search would have found the
            # first registration, so a second whose forename is only the first's middle
            # name ("Aisha Akhtar" beside "Nadia Aisha Akhtar") is her twin
            src = self._src
            # 20-alike9: ...at any two of its addresses: the index searches by surname
            # and birth date too, and found "Abdul Muhammad Shah" when it registered
            # "Muhammad Shah" of his birth date at another address
            where = np.ones(n, bool) if self.spec.guard_index_twins_anywhere else home
            look = np.flatnonzero(
                same_sn
                & where
                & ~fn_differ
                & (lv[:, self.k_dob] == 0)
                & (src[pl.i] >= 0)
                & (src[pl.i] == src[pl.j])
            )
            twins = np.zeros(n, bool)
            if len(look):
                twins[look[self.comparer.middle_name_only(pl.i[look], pl.j[look])]] = True
            if self.spec.guard_index_twins_spellings:
                # spec v14: ...also when her forename is a spelling or nickname of the
                # other's middle name ("Ayesha Uddin" beside "Samina Aisha Ud Din") and
                # when the surnames are a keystroke apart (the typo levels above): the
                # index's search, phonetic and with the birth date, found the first
                # record too
                look = np.flatnonzero(
                    (same_sn | typo_sn)
                    & home
                    & ~fn_differ
                    & ~twins
                    & (lv[:, self.k_dob] == 0)
                    & (src[pl.i] >= 0)
                    & (src[pl.i] == src[pl.j])
                )
                if len(look):
                    like = self.comparer.middle_name_like(pl.i[look], pl.j[look])
                    twins[look[like]] = True
            if twins.any():
                soft["index_twins_middle_name"] = twins
        if self.spec.guard_middle_name_twin_on_file and self._src is not None:
            # (a forename agreeing at a nickname's level or below: an exact one is no
            # middle name's)
            near = same_sn & home & ~fn_differ
            if self.k_fn is not None:
                near &= lv[:, self.k_fn] != 0
            on_file = self._twin_on_file(pl, near)
            if on_file.any():
                # (the index's twins by a middle name: the reason stewards already know)
                prev = soft.get("index_twins_middle_name")
                soft["index_twins_middle_name"] = on_file if prev is None else prev | on_file
        if (
            self.spec.guard_index_twins_forename
            and self._src is not None
            and self.k_dob is not None
            and self.k_fn is not None
        ):
            twins = self._index_twins_forename(pl, same_sn & home)
            prev = soft.get("index_twins_forename")
            soft["index_twins_forename"] = twins if prev is None else prev | twins
        if (
            self.spec.guard_postcode_other_address
            and self.k_pc is not None
            and self.k_addr is not None
        ):
            soft["different_addresses"] = self._other_address(pl)
        differ = fn_differ | self._is_else(lv, self.k_sex)
        at_home = same_sn & home
        own = self._namesake_index
        if own is not None and self._src is not None and self.k_fn is not None:
            # an index that searches by name and address before it registers someone
            # (a force's nominals) holds one name twice at one address, one of them
            # undated, only when it judged them two men: a father and his namesake son
            src = self._src
            no_dob = lv[:, self.k_dob] == MISSING if self.k_dob is not None else np.ones(n, bool)
            # spec v13: a force's name search is phonetic (as the PNC's is), so a
            # second nominal whose surname is a keystroke off the first's ("Mosss"
            # beside "Moss") was created with the first in front of the officer too
            sn_levels = self.spec.guard_index_namesakes_surname_levels
            one_name = self._label_in(lv, self.k_sn, sn_levels)
            namesakes = (
                home
                & (src[pl.i] >= 0)
                & (src[pl.i] == src[pl.j])
                & own[pl.i]
                & (lv[:, self.k_fn] == 0)
                & one_name
                & no_dob
            )
            if self.spec.guard_index_namesakes_alias_jw > 0 and namesakes.any():
                # 24-within12: the force's second nominal of a man written under another
                # surname, his own name kept as its alias ("David Snith" alias "David
                # Morrison", one address, undated): the names agree through the alias
                # only, which is the force saying it is one man, not a namesake son
                namesakes &= ~self._other_surnames(pl.i, pl.j, namesakes)
            soft["index_namesakes_at_home"] = namesakes
            if self.spec.guard_index_namesakes_slip_generation and self.k_dob is not None:
                # 24-alike13: ...and when the two names differ by a slip, when the place
                # also holds a dated record of the undated one's name, agreeing with it
                # better than the dated nominal does, born a generation from that one:
                # the father's own record at his address ("Andrew Higgins" 1975 beside
                # the force's undated ANDREW HIGGINS and its "ANDREW Higginns" 2003)
                slip = (
                    home
                    & (src[pl.i] >= 0)
                    & (src[pl.i] == src[pl.j])
                    & own[pl.i]
                    & (same_sn | typo_sn)
                    & ~fn_differ
                    & ~((lv[:, self.k_fn] == 0) & (lv[:, self.k_sn] == 0))
                )
                if slip.any():
                    soft["index_namesakes_at_home"] |= self._namesake_generation(pl, slip)
        if self.k_dob is not None:
            s = self.comparer.s
            y = s["dob_y"].to_numpy()
            ya, yb = y[pl.i], y[pl.j]
            far = (ya >= 0) & (yb >= 0) & (np.abs(ya - yb) >= self.spec.guard_dob_years)
            far &= self._is_else(lv, self.k_dob)
            slips = self.spec.guard_dob_far_slips
            if slips and far.any():
                # spec v12: a date keyed with two slips (year digits swapped and a day out:
                # 1995-05-14 / 1959-05-15) is one date; a father and his namesake son are
                # not born on one day and month in years that are each other's swap
                far &= ~self.dob_slips(pl.i, pl.j, far, slips)
            differ |= far
        out = at_home & differ
        if typo_sn.any():
            # spec v13: inside one index, at one address, a second registration whose
            # surname is a keystroke off the first's and whose forename (or sex, or a
            # birth date a generation away) differs is a brother, a twin or a father,
            # registered by a desk that had the first in front of it, likelier than one
            # person keyed with two slips; but a typo may also have hidden the first from
            # its search, so the pair is put to a steward rather than cut
            soft["index_household_surname_typo"] = typo_sn & differ
        if typo_cross.any() and self.k_dob is not None:
            # 24: across two agencies too, for one birth date: her twin, whose surname
            # one agency keyed with a slip, is likelier than one girl keyed with a slip
            # in her surname and a wholly other forename ("Karen Clarke" beside "Susan
            # Clatke", one address, one birth date)
            soft["household_surname_typo"] = typo_cross & fn_differ & (lv[:, self.k_dob] == 0)
        if self.spec.guard_household_name_order and self.k_fn is not None:
            soft["household_name_order"] = self._name_order_twins(pl, home) & ~out
        if self.spec.guard_generation and self._gen is not None:
            # "Jonathan Poole Jr" and "Jonathan Poole Sr": two men, wherever they live
            ga, gb = self._gen[pl.i], self._gen[pl.j]
            out |= (ga != None) & (gb != None) & (ga != gb)  # noqa: E711 (object array)
            bare = self._bare
            if bare is not None:
                # a suffix says a namesake of the other generation exists; an index's own
                # record of the name with neither a suffix nor a date of birth cannot say
                # which of the two men it is
                soft["generation_suffix_one_side"] = (bare[pl.i] & (gb != None)) | (  # noqa: E711
                    bare[pl.j] & (ga != None)  # noqa: E711
                )
            if self.spec.guard_index_suffix_namesakes and self._src is not None:
                # 24: one index holding, at one address, the name once with a suffix and
                # once without it added the suffix to tell two men apart ("Dsvid Clarke
                # Senior", undated, beside "DAVID Clarke" 2000, one force's nominals)
                one = (ga != None) ^ (gb != None)  # noqa: E711
                src = self._src
                near = (
                    one & home & (same_sn | typo_sn) & (src[pl.i] >= 0) & (src[pl.i] == src[pl.j])
                )
                if near.any():
                    # (a suffix keyed with a slip stays in the surname, "Booth Nsr": one
                    # man; so the two surnames must have as many words)
                    words = self._surname_words()
                    near &= words[pl.i] == words[pl.j]
                    prev = soft.get("generation_suffix_one_side")
                    soft["generation_suffix_one_side"] = near if prev is None else prev | near
        kept = np.zeros(n, np.int8)
        reviewable = self.spec.guard_reviewable
        for name, mask in soft.items():
            if name not in reviewable:
                out |= mask  # a guard not declared reviewable is a cannot-link as ever
        # the first listed reviewable guard names the reason (filled last, so it wins)
        for code in range(len(reviewable), 0, -1):
            mask = soft.get(reviewable[code - 1])
            if mask is not None:
                kept[mask] = code
        return out, kept

    def _surname_words(self) -> np.ndarray:
        """Per record, how many words its standardised surname has (0: none)."""
        if self._sn_words is None:
            sn = self.comparer.s["sn"].to_numpy(object)
            self._sn_words = np.fromiter(
                (len(v.split()) if isinstance(v, str) else 0 for v in sn), np.int16, len(sn)
            )
        return self._sn_words

    def _middle_names_differ(self, pl: PairLevels, one_name: np.ndarray) -> np.ndarray:
        """24: two records of one surname and birth date whose forenames are not one
        spelling and whose middle names are both recorded and unrelated ("John Liam
        Clarke" beside "Ian Michael Clarke"): a middle name is given at birth and kept,
        so two recorded middle names that share nothing, neither a spelling nor an
        initial of the other nor the other's forename, are two people's.  Twins whose
        forenames the nicknames data ties (Ian is a form of John) are found so.  The
        forenames must differ: one name with two middle names is a slip in a middle name.
        """
        assert self.k_mn is not None
        lv = pl.levels
        look = one_name & self._is_else(lv, self.k_mn)
        if self.k_dob is not None:
            look &= lv[:, self.k_dob] == 0
        if self.k_fn is not None:
            look &= (lv[:, self.k_fn] != 0) & (lv[:, self.k_fn] != MISSING)
        out = np.zeros(len(lv), bool)
        idx = np.flatnonzero(look)
        if len(idx):
            out[idx[self.comparer.given_names_apart(pl.i[idx], pl.j[idx])]] = True
        return out

    def _twin_on_file(self, pl: PairLevels, look_mask: np.ndarray) -> np.ndarray:
        """19-alike8: two records at one address of one surname whose forenames agree
        only as one's middle name ("Abdul Muhammad Shah", a school's pupil, beside the
        hospital's "Muhammad Shah", one birth date), while the middle-name holder's own
        index holds, at its postcode and under its surname, another record of the other's
        forename ("Muhammad Shah", the school's other pupil there) born within
        ``dob_years_apart`` of the holder and in the other record's birth year (when
        known): the index knows the boy called Muhammad apart from Abdul Muhammad, so
        "Muhammad" is not the holder's name in use but his twin's or his brother's.
        Kept apart for a steward (reason ``index_twins_middle_name``), never cut.
        """
        assert self._src is not None
        out = np.zeros(len(pl.i), bool)
        look = np.flatnonzero(look_mask)
        if not len(look):
            return out
        look = look[self.comparer.middle_name_only(pl.i[look], pl.j[look])]
        if not len(look):
            return out
        s = self.comparer.s
        fn = s["fn"].to_numpy(object)
        mn = s["mn"].to_numpy(object)
        sn = s["sn"].to_numpy(object)
        pc = s["pc"].to_numpy(object)
        y = s["dob_y"].to_numpy()
        src = self._src
        if self._on_file is None:
            # per (index, postcode, surname, forename): the birth years and positions of
            # the index's dated records there
            on: dict[tuple, list[tuple[int, int]]] = {}
            for p in np.flatnonzero((src >= 0) & (y >= 0)):
                if isinstance(pc[p], str) and isinstance(fn[p], str):
                    on.setdefault((src[p], pc[p], sn[p], fn[p]), []).append((int(p), int(y[p])))
            self._on_file = on
        gap = self.spec.guard_dob_years
        for x, (a, b) in zip(look, zip(pl.i[look], pl.j[look], strict=True), strict=True):
            for h, o in ((a, b), (b, a)):
                m = mn[h]
                if src[h] < 0 or y[h] < 0 or not isinstance(m, str) or fn[o] not in m.split():
                    continue
                for q, yq in self._on_file.get((src[h], pc[h], sn[h], fn[o]), ()):
                    if q in (h, o) or abs(yq - y[h]) >= gap:
                        continue
                    if y[o] >= 0 and abs(int(y[o]) - yq) > 1:
                        continue
                    out[x] = True
                    break
        return out

    def _namesake_generation(self, pl: PairLevels, look_mask: np.ndarray) -> np.ndarray:
        """24-alike13: an index's undated record and its dated one at one address, the
        names a slip apart ("ANDREW HIGGINS", no birth date, beside "ANDREW Higginns"
        2003, one force's nominals), when the place also holds a dated record (any
        agency's) of the undated one's name -- each name within two keying edits of it and
        closer to it than the dated nominal's -- born ``dob_years_apart`` or more from
        the dated nominal: the father's own record ("Andrew Higgins" 1975), so the
        undated nominal may be his and not his son's.  Kept apart for a steward (reason
        ``index_namesakes_at_home``), never cut.  Without such a record a slip pair is
        one man keyed twice far more often than two (bench/RESULTS.md "alike13").
        """
        out = np.zeros(len(pl.i), bool)
        look = np.flatnonzero(look_mask)
        s = self.comparer.s
        fn = s["fn"].to_numpy(object)
        sn = s["sn"].to_numpy(object)
        pc = s["pc"].to_numpy(object)
        y = s["dob_y"].to_numpy()
        if self._dated_at is None:
            at: dict[str, list[int]] = {}
            for p in np.flatnonzero(y >= 0):
                if isinstance(pc[p], str) and isinstance(fn[p], str) and isinstance(sn[p], str):
                    at.setdefault(pc[p], []).append(int(p))
            self._dated_at = at
        gap = self.spec.guard_dob_years

        for x in look:
            a, b = int(pl.i[x]), int(pl.j[x])
            if (y[a] >= 0) == (y[b] >= 0):
                continue  # one undated record and one dated
            if y[a] >= 0:
                a, b = b, a
            if not (isinstance(pc[a], str) and isinstance(fn[a], str) and isinstance(sn[a], str)):
                continue
            if not (isinstance(fn[b], str) and isinstance(sn[b], str)):
                continue
            d_ab = OSA.distance(fn[a], fn[b]) + OSA.distance(sn[a], sn[b])
            for q in self._dated_at.get(pc[a], ()):
                if q in (a, b) or abs(int(y[q]) - int(y[b])) < gap:
                    continue
                d_f, d_s = OSA.distance(fn[q], fn[a]), OSA.distance(sn[q], sn[a])
                if d_f <= 2 and d_s <= 2 and d_f + d_s < d_ab:
                    out[x] = True
                    break
        return out

    def _other_address(self, pl: PairLevels) -> np.ndarray:
        """17-alike7: two records of one full postcode whose recorded addresses share no
        word or number ("7 Highfield Gardens" beside "216 Arnold Close", one postcode):
        another house in another street, so two households, not one person's two
        spellings of one address ("17 Hill St" / "17 Hill Street" share the number and
        the street).  The place gate compares full postcodes and lets such a pair pass;
        a same-name, same-birthday stranger round the corner is kept apart for a steward
        ("different_addresses", the gate's own reason), never cut.
        """
        assert self.k_pc is not None and self.k_addr is not None
        lv = pl.levels
        out = np.zeros(len(lv), bool)
        look = np.flatnonzero((lv[:, self.k_pc] == 0) & self._is_else(lv, self.k_addr))
        if not len(look):
            return out
        s = self.comparer.s
        # (the postcodes as recorded: the relationship rounds compare a relative as if
        # recorded at her anchor's address, and a household that moved is not parted)
        pc = s["pc"].to_numpy(object)
        addr = s["address"].to_numpy(object)
        out[look] = np.fromiter(
            (
                isinstance(pc[a], str) and pc[a] == pc[b] and _addresses_apart(addr[a], addr[b])
                for a, b in zip(pl.i[look], pl.j[look], strict=True)
            ),
            bool,
            len(look),
        )
        return out

    def _index_twins_forename(self, pl: PairLevels, at_home: np.ndarray) -> np.ndarray:
        """16-alike6: two records of one master index at one address with one birth date
        and surname, whose forenames agree only by their spelling (a Jaro-Winkler level:
        not one name, not a nickname of it) and are both names the nicknames data knows
        ("Anna" beside "Joanna" Zielinska, one hospital): the index's own search (name,
        birth date, address) had the first in front of the desk, and two real names are
        no keying slip of one.  Twins; kept apart for a steward.
        """
        assert self._src is not None and self.k_dob is not None and self.k_fn is not None
        lv = pl.levels
        src = self._src
        labels = self.spec.comparisons[self.k_fn].labels
        jw = [x for x, lab in enumerate(labels) if lab.startswith("jw")]
        look = np.flatnonzero(
            at_home
            & np.isin(lv[:, self.k_fn], jw)
            & (lv[:, self.k_dob] == 0)
            & (src[pl.i] >= 0)
            & (src[pl.i] == src[pl.j])
        )
        out = np.zeros(len(pl.i), bool)
        if not len(look):
            return out
        cmp = self.comparer
        if self._real_fn is None:
            ties = nickname_neighbours(cmp.name_pairs)
            self._real_fn = np.array([v in ties for v in cmp.vocab], bool)
        fa, fb = cmp.rec_codes["fn"][pl.i[look]], cmp.rec_codes["fn"][pl.j[look]]
        ok = np.flatnonzero((fa >= 0) & (fb >= 0) & (fa != fb))
        if not len(ok):
            return out
        fa, fb = fa[ok], fb[ok]
        real = self._real_fn[fa] & self._real_fn[fb]
        # the *recorded* forenames alike by spelling only (a variant's level may be an
        # alias's: "Jeffrey Flynn, alias Geoffrey Nicholson")
        c = self.spec.comparisons[self.k_fn]
        real &= np.isin(code_levels(fa, fb, cmp.vocab, c.levels, cmp.name_pairs), jw)
        if real.any():
            # ...and two keys or more apart: one wrong key may land on another real name
            # ("Lura" for Laura: the American nicknames data knows Lura)
            r = np.flatnonzero(real)
            va, vb = cmp.vocab[fa[r]], cmp.vocab[fb[r]]
            near = np.fromiter(
                (OSA.distance(x, y) <= 1 for x, y in zip(va, vb, strict=True)), bool, len(r)
            )
            real[r[near]] = False
        out[look[ok[real]]] = True
        return out

    def _name_order_twins(self, pl: PairLevels, home: np.ndarray) -> np.ndarray:
        """Spec 15-alike5: two records at one address whose *recorded* surnames agree
        and whose recorded forenames are unrelated, while one record's forename is the
        other's surname ("Mohamed Mohamed" beside "Omar Mohamed", "Thomas Thomas" beside
        "Christopher Thomas"): the forename/surname order swap variant makes the
        forenames agree and hides the shared surname from the household guard, but as
        recorded they are a household's two people.
        """
        rc = self.comparer.rec_codes
        fa, fb = rc["fn"][pl.i], rc["fn"][pl.j]
        sa, sb = rc["sn"][pl.i], rc["sn"][pl.j]
        look = np.flatnonzero(
            home
            & (sa >= 0)
            & (sa == sb)
            & (fa >= 0)
            & (fb >= 0)
            & (fa != fb)
            & ((fa == sb) | (fb == sa))
        )
        out = np.zeros(len(pl.i), bool)
        if not len(look):
            return out
        c = self.spec.comparisons[self.k_fn]
        cmp = self.comparer
        lv = code_levels(fa[look], fb[look], cmp.vocab, c.levels, cmp.name_pairs)
        differ = lv == len(c.levels)  # unrelated as recorded (not a nickname, not alike)
        # a name and one sharing its first syllable may be its short form, though no
        # list ties them ("Abdi" beside "Abdullahi Abdi" or "Abdurahman Abdi")
        k = self.spec.guard_name_order_stem
        if k > 0:
            if self._stems is None:
                self._stems = pd.factorize(
                    np.array([x[:k] if len(x) >= k else x for x in cmp.vocab], dtype=object)
                )[0]
            differ &= self._stems[fa[look]] != self._stems[fb[look]]
        thr, edits = self.spec.guard_nickname_typo, self.spec.guard_nickname_typo_edits
        if (thr > 0 or edits > 0) and differ.any():
            d = np.flatnonzero(differ)
            differ[d[cmp.nickname_typo(pl.i[look[d]], pl.j[look[d]], thr or 1.0, edits)]] = False
        out[look[differ]] = True
        return out

    def set_year_bounds(
        self, lo: np.ndarray | None, hi: np.ndarray | None, labels: np.ndarray | None = None
    ) -> None:
        """Install per-record birth-year bounds (own year wins where known).

        Spec v12 (``rel_year_slips``): a record's own year may be one keyed with a slip.
        Without ``labels`` it reads as the year or its last two digits swapped; with the
        cluster ``labels`` of a clustering round, as any year its cluster's records give
        (a swap no other record of the person supports counts no more: a son born 2010
        is not his father because 2010 might be 2001).
        """
        senior = self._senior_hi()
        issued = self._issued_hi()
        for extra in (senior, issued):
            if (lo is None or hi is None) and extra is not None:
                lo, hi = np.full(len(extra), -np.inf), np.full(len(extra), np.inf)
        if lo is None or hi is None:
            self._ylo = self._yhi = None
            return
        if senior is not None:
            hi = np.minimum(hi, senior)
        if issued is not None:
            hi = np.minimum(hi, issued)
        y = self.comparer.s["dob_y"].to_numpy()
        known = y >= 0
        self._known = known
        own = y.astype(np.float64)
        early, late = slip_range(own, y, labels) if self.spec.rel_year_slips else (own, own)
        self._ylo = np.where(known, early, lo).astype(np.float64)
        self._yhi = np.where(known, late, hi).astype(np.float64)

    def _senior_hi(self) -> np.ndarray | None:
        """Spec 15-alike5 (``[relationship] senior_generation``): the latest birth year of
        a "Sr"-suffixed record without a birth date: a Senior has a namesake son, so he
        was born at least ``generation_gap_years`` before the latest recorded birth.  A
        father's undated "Mohammed Ahmed Sr" nominal is no baby "Mohammed Ahmed" (2023),
        however well the names and the address agree.  None: off, or no such record.
        """
        s = self.comparer.s
        gap = self.spec.rel_generation_gap
        if not self.spec.rel_senior_generation or gap <= 0 or "gen" not in s.columns:
            return None
        y = s["dob_y"].to_numpy()
        sr = (s["gen"].to_numpy(object) == "sr") & (y < 0)
        if not sr.any() or not (y >= 0).any():
            return None
        return np.where(sr, float(y.max() - gap), np.inf)

    def _issued_hi(self) -> np.ndarray | None:
        """Spec 22-alike11 (``[relationship] pnc_issue_year``): the latest birth year of a
        record without a birth date that carries a valid PNC ID: the year the ID was
        issued (its first four digits, ``YYYY/NNNNNNNL``).  The Police National Computer
        creates a person's record when the police first deal with them, so its holder
        was born by then: a father's undated nominal "Mo Mahmood" (PNC ID 2018/...) is
        no baby "Mohammed Mahmood" born 2024 at his address, however well the names and
        the address agree.  None: off, or no such record.
        """
        s = self.comparer.s
        # (the standardised identifier: the PNC ID where its check letter is right)
        if not self.spec.rel_pnc_issue_year or "id_pnc_id" not in s.columns:
            return None
        y = s["dob_y"].to_numpy()
        codes, ids = pd.factorize(s["id_pnc_id"].to_numpy(object), use_na_sentinel=True)
        if not len(ids):
            return None
        issued = np.array([_pnc_issue_year(v) for v in ids], np.float64)
        yr = np.where(codes >= 0, issued[np.maximum(codes, 0)], np.nan)
        use = (y < 0) & ~np.isnan(yr)
        if not use.any():
            return None
        return np.where(use, yr, np.inf)

    def age_conflict(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Pairs whose birth years (own or relationship-implied) cannot be one person's."""
        if self._ylo is None:
            return np.zeros(len(i), bool)
        both = self._known[i] & self._known[j]  # two real dates: the dob comparison decides
        lo = np.maximum(self._ylo[i], self._ylo[j])
        hi = np.minimum(self._yhi[i], self._yhi[j])
        return ~both & (lo > hi + self.YEAR_TOLERANCE)

    def rules(self, pl: PairLevels) -> RuleOutcome:
        """Deterministic identifier links and cannot-links of compared pairs (no model)."""
        lv = pl.levels
        n = len(lv)
        det = np.full(n, None, dtype=object)
        for k, name in reversed(self.det):  # first listed identifier wins
            det[lv[:, k] == 0] = name
        cannot_id = np.full(n, None, dtype=object)
        for k, name in reversed(self.cl):
            cannot_id[self._is_else(lv, k)] = name
        has_det = det != None  # noqa: E711 (object array)
        has_cid = cannot_id != None  # noqa: E711
        contradicted = self._is_else(lv, self.k_dob) & self._is_else(lv, self.k_sex)
        det_ok = has_det & ~contradicted & ~has_cid
        det[~det_ok] = None
        g, kept = self.guard(pl)
        g &= ~det_ok
        age = self.age_conflict(pl.i, pl.j) & ~det_ok
        # a reviewable guard keeps the pair apart, but only as the sole rule against it
        soft = (kept > 0) & ~det_ok & ~g & ~age & ~has_cid
        cannot = (has_cid | g | age | soft) & ~det_ok
        if self._src is not None and (self.spec.same_source_cannot or self._conflicts):
            same = self.same_master(pl.i, pl.j) & ~det_ok
            if self.spec.same_source_cannot:
                cannot |= same
                soft &= ~same
            else:
                # two registrations of one index that contradict each other on what the
                # index itself de-duplicates by (birth date, sex) are two people
                clash = np.zeros(n, bool)
                for k in self._conflicts:
                    differ = self._is_else(lv, k)
                    if k == self.k_dob and self.spec.same_source_conflict_dob_edits:
                        differ &= ~self.dob_slips(pl.i, pl.j, differ & same)
                    clash |= differ
                cannot |= same & clash
                soft &= ~(same & clash)
        return RuleOutcome(det, cannot_id, g, age, cannot, np.where(soft, kept, 0).astype(np.int8))

    def score(
        self,
        i: np.ndarray,
        j: np.ndarray,
        levels: PairLevels | None = None,
        rules: RuleOutcome | None = None,
    ) -> ScoredPairs:
        """Compare and score pairs ``(i[k], j[k])``.

        Args:
            i, j: record positions of each pair.
            levels: their comparison, if already done.
            rules: their :meth:`rules` outcome, if already judged (with the same birth-year
                bounds).

        Returns:
            Levels, per-comparison and total weights, probabilities and rule outcomes.
        """
        if self.model is None:
            raise ValueError("scoring needs a fitted model")
        pl = levels if levels is not None else self.comparer.compare(i, j)
        if rules is not None and len(rules.cannot) != len(pl.i):
            raise ValueError("rules judged for other pairs")
        total, w = self.model.score(pl)
        r = rules if rules is not None else self.rules(pl)
        same = self.same_source(i, j, pl.levels)
        total = total + np.where(r.guard | r.age_conflict, self.spec.guard_weight, 0.0) + same
        sp = ScoredPairs(
            levels=pl,
            comp_weights=w,
            weight=total,
            probability=probability(total),
            deterministic=r.deterministic,
            cannot=r.cannot,
            guard=r.guard,
            cannot_identifier=r.cannot_identifier,
            age_conflict=r.age_conflict,
            same_source=same,
            kept=r.kept,
        )
        sp._guard_w = self.spec.guard_weight
        return sp

    def dob_slips(
        self, i: np.ndarray, j: np.ndarray, todo: np.ndarray, edits: int | None = None
    ) -> np.ndarray:
        """Pairs (among ``todo``) whose birth dates are within ``edits`` (default: the spec's
        ``same_source_conflict_dob_edits``) keying slips of each other on YYYYMMDD (digits
        changed, or two adjacent digits swapped)."""
        out = np.zeros(len(i), bool)
        idx = np.flatnonzero(todo)
        if len(idx):
            d8 = self.comparer.s["dob8"].to_numpy()
            if edits is None:
                edits = self.spec.same_source_conflict_dob_edits
            lv = Level(label=f"osa<={edits}", op="osa", arg=float(edits))
            out[idx] = string_levels(d8[i[idx]], d8[j[idx]], (lv,)) == 0
        return out

    def same_master(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Pairs of two records of one de-duplicated master index."""
        if self._src is None:
            return np.zeros(len(i), bool)
        a, b = self._src[i], self._src[j]
        return (a >= 0) & (a == b)

    def same_source(
        self, i: np.ndarray, j: np.ndarray, levels: np.ndarray | None = None
    ) -> np.ndarray:
        """Weight (bits) of "one master index" / "two master indexes" per pair (with the
        pairs' ``levels``: a search miss's weight for those, see :func:`search_miss`)."""
        return same_source_weights(self._src, self.model, self.spec, i, j, levels, self._own)

    def breakdown(self, lv_row: np.ndarray, w_row: np.ndarray) -> dict[str, dict]:
        """``{comparison: {level, weight}}`` for one pair (missing levels included)."""
        out: dict[str, dict] = {}
        for k, c in enumerate(self.spec.comparisons):
            lab = "missing" if lv_row[k] == MISSING else c.labels[int(lv_row[k])]
            out[c.name] = {"level": lab, "weight": round(float(w_row[k]), 3)}
        return out
