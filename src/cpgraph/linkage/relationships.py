"""Relationship-aware candidates: mentions in the same stated relationship to one person.

After a round of clustering, every stated relationship ``from_key → to_key`` (``to_key``
is the ``relationship`` of ``from_key``) gives ``to_key`` an *anchor*: (the resolved
person of ``from_key``, role group).  Two mentions with the same anchor — both "mother
of" the same child, both "partner of" the same woman, both visitors of one prisoner —
are candidates; names must still be compatible and nothing may contradict them.
A partner of a child's parent (``partner_of_parent``/``step_parent``) is also anchored as
"partner" of each of that child's stated parents.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ROLE_GROUP = {
    "mother": "parent", "father": "parent", "parent": "parent",
    "step_parent": "partner_of_parent", "partner_of_parent": "partner_of_parent",
    "step_mother": "partner_of_parent", "step_father": "partner_of_parent",
    "partner": "partner", "ex_partner": "partner", "wife": "partner", "husband": "partner",
    "grandparent": "grandparent", "aunt_uncle": "aunt_uncle", "sibling": "sibling",
    "child": "child", "step_child": "child", "partner_child": "child",
    "grandchild": "grandchild", "carer": "carer", "foster_carer": "carer",
    "relative": "associate", "friend": "associate", "visitor": "associate",
    "other": "associate",
}
INVERSE_GROUP = {
    "parent": "child", "child": "parent", "partner": "partner", "sibling": "sibling",
    "grandparent": "grandchild", "grandchild": "grandparent", "carer": "cared_for",
    "partner_of_parent": "partner_child", "aunt_uncle": "niece_nephew",
    "associate": "associate",
}
MAX_ANCHOR_GROUP = 50  # a larger group means the anchor is not one person's family


def anchors(rels: pd.DataFrame, pos: dict[str, int], labels: np.ndarray) -> pd.DataFrame:
    """Anchor table ``rec, anchor, group`` from stated relationships and cluster labels.

    Args:
        rels: ``from_key, to_key, relationship`` rows.
        pos: key → record position.
        labels: cluster label per record position.

    Returns:
        One row per (mention, anchor person, role group), deduplicated.
    """
    if rels is None or rels.empty:
        return pd.DataFrame({"rec": [], "anchor": [], "group": []})
    f = rels["from_key"].map(pos)
    t = rels["to_key"].map(pos)
    g = rels["relationship"].astype(str).str.lower().map(ROLE_GROUP)
    ok = f.notna() & t.notna() & g.notna()
    f = f[ok].astype(np.int64).to_numpy()
    t = t[ok].astype(np.int64).to_numpy()
    g = g[ok].to_numpy()
    parts = [
        pd.DataFrame({"rec": t, "anchor": labels[f], "group": g}),
        pd.DataFrame({"rec": f, "anchor": labels[t],
                      "group": pd.Series(g).map(INVERSE_GROUP).to_numpy()}),
    ]
    # partner of a child's parent → partner of that parent
    e = pd.DataFrame({"c": labels[f], "x": t, "g": g})
    pop = e[e["g"] == "partner_of_parent"]
    par = e[e["g"] == "parent"]
    if not pop.empty and not par.empty:
        d = pop.merge(par, on="c", suffixes=("", "_p"))
        parts.append(pd.DataFrame({"rec": d["x"].to_numpy(),
                                   "anchor": labels[d["x_p"].to_numpy()],
                                   "group": "partner"}))
    a = pd.concat(parts, ignore_index=True).dropna()
    a["anchor"] = a["anchor"].astype(np.int64)
    a["rec"] = a["rec"].astype(np.int64)
    # a mention is never its own anchor
    a = a[labels[a["rec"].to_numpy()] != a["anchor"].to_numpy()]
    return a.drop_duplicates(ignore_index=True)


def anchor_pairs(anc: pd.DataFrame, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of mentions sharing an anchor and not already in one cluster (``i < j``)."""
    if anc.empty:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    size = anc.groupby(["anchor", "group"])["rec"].transform("size")
    anc = anc[(size >= 2) & (size <= MAX_ANCHOR_GROUP)]
    m = anc.merge(anc, on=["anchor", "group"], suffixes=("_a", "_b"))
    a = m["rec_a"].to_numpy(np.int64)
    b = m["rec_b"].to_numpy(np.int64)
    keep = (a < b) & (labels[a] != labels[b])
    a, b = a[keep], b[keep]
    if not len(a):
        return a, b
    n = int(max(a.max(), b.max())) + 1
    code = np.unique(a * n + b)
    return code // n, code % n
