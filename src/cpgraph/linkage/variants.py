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

import numpy as np
import pandas as pd

from cpgraph.linkage.comparisons import NamePairs
from cpgraph.linkage.spec import Spec
from cpgraph.linkage.standardise import V_ALT, V_PRIMARY

IDENTIFIER_COLUMNS = ("id_nhs_number", "id_upn", "id_pnc_id", "id_prison_number")
MAX_IDENTIFIER_GROUP = 20  # more records under one identifier is bad data, not variants


def _pairs_frame(a: np.ndarray, b: np.ndarray, unit: np.ndarray) -> pd.DataFrame:
    lo = np.where(a < b, a, b)
    hi = np.where(a < b, b, a)
    return pd.DataFrame({"a": lo, "b": hi, "unit": unit})


def learn_name_variants(s: pd.DataFrame, variants: pd.DataFrame, spec: Spec) -> NamePairs:
    """Forename pairs the data itself records as one person's names.

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
