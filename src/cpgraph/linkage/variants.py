"""Forename variants learned from the agencies' own records.

The ``nicknames`` dataset is American-English: it knows Becky is Rebecca but not that
Kasia is Katarzyna, Gosia Małgorzata, Kuba Jakub, Abdi Abdullahi or Mo Mohammed.  The
agencies tell us such things themselves: a police nominal recorded as "Kasia Nowak" with
the alias "Katarzyna Nowak", or two hospital records with one NHS number under "Mo Khan"
and "Muhammad Khan".  Each such record is one piece of evidence that two forenames are one
name; a pair seen in at least ``min_count`` independent places (records, identifiers)
becomes a nickname-level equivalence, exactly like a pair from the dataset.  A one-off
typo ("tgomas") is seen once and stays out.

The learned pairs are part of the fitted model (:attr:`Model.name_variants`), so an
incremental run scores new pairs with the same equivalences as the run that trained it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from itertools import combinations

import numpy as np
import pandas as pd

from cpgraph.linkage.comparisons import NamePairs, nickname_equivalent, nickname_roots
from cpgraph.linkage.spec import Spec
from cpgraph.linkage.standardise import V_ALT, V_PRIMARY
from cpgraph.text import match_name

IDENTIFIER_COLUMNS = ("id_nhs_number", "id_upn", "id_pnc_id", "id_prison_number")
MAX_IDENTIFIER_GROUP = 20  # more records under one identifier is bad data, not variants
# shorter names are nicknames, whose vowels are the name (Em, Emma, Emmy; Sam, Sammy)
SPELLING_MIN_LEN = 5


def _pairs_frame(a: np.ndarray, b: np.ndarray, unit: np.ndarray) -> pd.DataFrame:
    lo = np.where(a < b, a, b)
    hi = np.where(a < b, b, a)
    return pd.DataFrame({"a": lo, "b": hi, "unit": unit})


def learn_name_variants(s: pd.DataFrame, variants: pd.DataFrame, spec: Spec) -> NamePairs:
    """Forename pairs held as one name beside the ``nicknames`` dataset's own ties.

    The pairs the data itself records (:func:`learned_pairs`), then (spec 15-recall5,
    each off unless its key is set) the dataset's nickname ties carried over to the other
    spellings of their canonical name (:func:`dataset_spelling_ties`) and the pairs the
    spec lists itself (``[name_variants] pairs``).

    Returns:
        Sorted ``(a, b)`` pairs (``a < b``, match forms).
    """
    pairs = learned_pairs(s, variants, spec)
    if spec.variants_pairs:
        pairs = tuple(sorted(set(pairs) | set(spec_pairs(spec.variants_pairs))))
    if spec.variants_spelling_classes and pairs:
        # a listed tie holds for every learned spelling of its names (Zee ~ Zaynab)
        pairs = spelling_classes(pairs)
    if spec.variants_dataset_spellings:
        pairs = tuple(sorted(set(pairs) | set(dataset_spelling_ties())))
    return pairs


def learned_pairs(s: pd.DataFrame, variants: pd.DataFrame, spec: Spec) -> NamePairs:
    """Forename pairs the data itself records as one person's names (before
    :func:`spelling_classes`, which :func:`learn_name_variants` applies).

    Evidence, one unit each: a record whose alias (or other recorded name) has the same
    surname and another forename; a valid identifier (NHS number, UPN, PNC id, prison
    number) whose records carry different forenames.

    Args:
        s: standardised mentions (:func:`~cpgraph.linkage.standardise.standardise`).
        variants: their name variants (:func:`~cpgraph.linkage.standardise.name_variants`).
        spec: the linkage spec (``[name_variants]``).

    Returns:
        Sorted ``(a, b)`` pairs (``a < b``, match forms) seen at least ``min_count`` times.
    """
    if not spec.variants_learn:
        return ()
    parts: list[pd.DataFrame] = []
    if spec.variants_from_aliases:
        vt = variants["vtype"].to_numpy()
        prim = variants.loc[vt == V_PRIMARY, ["rec", "fn", "sn"]]
        alt = variants.loc[vt == V_ALT, ["rec", "fn", "sn"]]
        j = alt.merge(prim, on="rec", suffixes=("_alt", "_rec")).dropna()
        j = j[(j["sn_alt"] == j["sn_rec"]) & (j["fn_alt"] != j["fn_rec"])]
        parts.append(
            _pairs_frame(
                j["fn_alt"].to_numpy(object),
                j["fn_rec"].to_numpy(object),
                ("r" + j["rec"].astype(str)).to_numpy(object),
            )
        )
    if spec.variants_from_identifiers:
        for col in IDENTIFIER_COLUMNS:
            if col not in s.columns:
                continue
            d = pd.DataFrame({"id": s[col].to_numpy(object), "fn": s["fn"].to_numpy(object)})
            d = d.dropna().drop_duplicates()
            size = d["id"].map(d["id"].value_counts())
            d = d[(size >= 2) & (size <= MAX_IDENTIFIER_GROUP)]
            if d.empty:
                continue
            j = d.merge(d, on="id")
            j = j[j["fn_x"] < j["fn_y"]]
            parts.append(
                _pairs_frame(
                    j["fn_x"].to_numpy(object),
                    j["fn_y"].to_numpy(object),
                    (col + ":" + j["id"].astype(str)).to_numpy(object),
                )
            )
    if not parts:
        return ()
    ev = pd.concat(parts, ignore_index=True).drop_duplicates()
    # initials ("j") are not names; the initial level handles them
    ev = ev[(ev["a"].str.len() > 1) & (ev["b"].str.len() > 1)]
    counts = ev.groupby(["a", "b"]).size()
    keep = counts[counts >= spec.variants_min_count]
    return tuple(sorted((str(a), str(b)) for a, b in keep.index))


def spelling_skeleton(name: str) -> str:
    """A forename's consonants as its spellings share them (transliterations of one name).

    Vowels (and a ``y`` beside a vowel) are dropped, as is a final ``h`` after one, doubled
    letters are one, and a Somali ``x`` (the Arabic ħ) beside a vowel is an ``h``: Mohammed,
    Muhammad, Mohamud and Maxamed all give ``mhmd``; Aisha and Ayesha ``sh``; Hamza and
    Hamzah ``hmz``.  Distinct names share skeletons too (Hassan and Hussein give ``hsn``):
    equal skeletons are only a necessary condition, see :func:`spelling_classes`.
    """
    s = unicodedata.normalize("NFKD", name.casefold())
    s = "".join(c for c in s if "a" <= c <= "z")
    s = re.sub(r"(?<=[aeiou])x(?=[aeiou])|^x(?=[aeiou])", "h", s)
    s = re.sub(r"(?<=[aeiou])h$", "", s)
    s = re.sub(r"(?<=[aeiou])y|y(?=[aeiou])", "", s)
    s = re.sub(r"[aeiouy]", "", s)
    return re.sub(r"(.)\1+", r"\1", s)


def spelling_classes(pairs: NamePairs) -> NamePairs:
    """Learned pairs closed over spellings of one name (spec v13, ``spelling_classes``).

    Learned pairs whose two forenames share a :func:`spelling_skeleton` are spellings of
    one name (Mohamed/Mohammed, Mohamed/Maxamed, Mohamed/Mohamud): they join into classes,
    and every two spellings of a class are one name even where no record joined those two
    (Maxamed/Mohamud).  Both names need ``SPELLING_MIN_LEN`` letters: in a short name the
    vowels are the name (Emma and Emmy are not spellings of Em).  Any other learned pair
    is a nickname tie (Mo/Mohammed, Zee/Zainab) and holds for every spelling of its names
    (Mo/Muhammed, Zee/Zaynab), but ties are not chained: Abdi is Abdullahi's and
    Abdirahman's, and those two stay two names.  Only pairs the data itself recorded are
    joined, so Hassan and Hussein (one skeleton) stay apart unless one person was recorded
    under both, twice.

    Args:
        pairs: learned ``(a, b)`` forename pairs (``a < b``).

    Returns:
        Sorted ``(a, b)`` pairs: ``pairs`` and the ones the classes imply.
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    skel = {x: spelling_skeleton(x) for p in pairs for x in p}
    ties = []
    for a, b in pairs:
        if min(len(a), len(b)) >= SPELLING_MIN_LEN and skel[a] == skel[b]:
            parent[find(a)] = find(b)
        else:
            ties.append((a, b))
    members: dict[str, list[str]] = {}
    for x in skel:
        members.setdefault(find(x), []).append(x)
    out = set(pairs)
    for group in members.values():
        out.update(combinations(sorted(group), 2))
    for a, b in ties:
        for x in members[find(a)]:
            for y in members[find(b)]:
                if x != y:
                    out.add((min(x, y), max(x, y)))
    return tuple(sorted(out))


def spelling_form(name: str) -> str:
    """A forename as it sounds when written another common way (spec 15-recall5).

    A hard ``c`` is a ``k`` (Catherine / Katherine, Caitlin / Kaitlin, Dominic /
    Dominick), ``ph`` an ``f`` (Christopher / Christoffer), ``y`` an ``i`` (Allyson,
    Sydney), a final ``h`` after a vowel is dropped (Deborah / Debora) and doubled
    letters are one (Phillip, Matthew).  Unlike :func:`spelling_skeleton` the vowels are
    kept: Louis and Louise, Frances and Francis, Martin and Martina, Danny and Denny keep
    distinct forms.
    """
    s = unicodedata.normalize("NFKD", name.casefold())
    s = "".join(c for c in s if "a" <= c <= "z")
    s = s.replace("ph", "f").replace("ck", "k")
    s = re.sub(r"c(?![eihy])", "k", s)
    s = s.replace("y", "i")
    s = re.sub(r"(?<=[aeiou])h$", "", s)
    return re.sub(r"(.)\1+", r"\1", s)


@cache
def dataset_spelling_ties() -> NamePairs:
    """The ``nicknames`` dataset's ties carried over to other spellings of a name.

    The dataset (American-English) lists Kate as Katherine's and Kathryn's nickname but
    not Catherine's, Nicky as Nicole's but not Nikole's: each spelling of a canonical name
    is an entry of its own.  Two names of the dataset with one :func:`spelling_form` (both
    of ``SPELLING_MIN_LEN`` letters or more) are one name, and a nickname of either is a
    nickname of both.  Only the dataset's own names are read (not the records'), so the
    pairs are fixed by the installed dataset, like its own ties.

    Returns:
        Sorted ``(a, b)`` pairs (``a < b``) the dataset does not already tie.
    """
    roots = nickname_roots()
    nicks: dict[str, set[str]] = {}
    for name, rs in roots.items():
        for r in rs:
            if r != name:
                nicks.setdefault(r, set()).add(name)
    forms: dict[str, list[str]] = {}
    for name in roots:
        if len(name) >= SPELLING_MIN_LEN:
            forms.setdefault(spelling_form(name), []).append(name)
    out: set[tuple[str, str]] = set()
    for group in forms.values():
        for a, b in combinations(sorted(group), 2):
            out.add((a, b))
            for x, y in ((a, b), (b, a)):
                for n in nicks.get(x, ()):
                    if n != y:
                        out.add((min(n, y), max(n, y)))
    return tuple(sorted(p for p in out if not nickname_equivalent(*p)))


def spec_pairs(pairs: tuple[tuple[str, str], ...]) -> NamePairs:
    """The spec's own forename pairs in match form (``a < b``), e.g. Gosia / Małgorzata."""
    out = set()
    for a, b in pairs:
        x, y = match_name(a), match_name(b)
        if x and y and x != y:
            out.add((min(x, y), max(x, y)))
    return tuple(sorted(out))
