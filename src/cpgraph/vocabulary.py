"""The relationship vocabulary every layer shares (names are the contract).

A stated relationship `(a)-[:STATED_RELATIONSHIP {relationship: r}]->(b)` says
what `b` is to `a`; the person-level projection keeps that direction. Loaders
map each agency's words onto `RELATIONSHIPS`; readers that look at an edge from
its other end use `INVERSE`.
"""

from __future__ import annotations

#: The canonical STATED_RELATIONSHIP vocabulary (target relative to source).
RELATIONSHIPS = frozenset(
    {
        "mother",
        "father",
        "parent",
        "step_parent",
        "partner_of_parent",
        "partner",
        "ex_partner",
        "grandparent",
        "aunt_uncle",
        "sibling",
        "child",
        "step_child",
        "grandchild",
        "carer",
        "foster_carer",
        "relative",
        "friend",
        "visitor",
        "other",
    }
)

# What the other person is to this one, when the stored edge points the other
# way: (a)-[:RELATED_TO {relationship: r}]->(b) says b is a's r, so from b's
# side a is INVERSE[r].
INVERSE: dict[str, str] = {
    "mother": "child",
    "father": "child",
    "parent": "child",
    "step_parent": "step_child",
    "partner_of_parent": "partners_child",
    "partners_child": "partner_of_parent",
    "partner": "partner",
    "ex_partner": "ex_partner",
    "grandparent": "grandchild",
    "grandchild": "grandparent",
    "aunt_uncle": "niece_nephew",
    "niece_nephew": "aunt_uncle",
    "sibling": "sibling",
    "child": "parent",
    "step_child": "step_parent",
    "carer": "cared_for",
    "cared_for": "carer",
    "foster_carer": "foster_child",
    "foster_child": "foster_carer",
    "relative": "relative",
    "friend": "friend",
    "visitor": "visited",
    "visited": "visitor",
    "other": "other",
}
