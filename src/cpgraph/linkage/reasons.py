"""Why linkage kept a pair apart: the closed catalogue of review reasons.

Every pair in the review queue and every possible match carries one of these codes
as its ``reason``. The catalogue is the one place that lists them, with what each
means to a data steward: the API serves it (``keptApartReasons``), the review
queue's ``reason`` filter accepts only its codes, and the web app builds its "Why
kept apart" choice from it, so a reason added here (or a reviewable guard added to
the spec's closed set) reaches all three at once.

Importing this module checks that every reviewable guard the spec may name has a
description: a guard added without one fails at start-up, not on a steward's screen.
"""

from __future__ import annotations

from cpgraph.linkage.spec import REVIEWABLE_GUARDS

#: A score between the spec's `review` and `auto` thresholds: the model is unsure.
UNCERTAIN = "uncertain"
#: Two records of one system's own index scored below `review` but at or above the
#: spec's `within_index_review`: a suspected duplicate for the source agency.
WITHIN_INDEX = "within_index_review"
#: A pair at `auto` that clustering kept apart for a conflict with another record.
CONFLICTING = "conflicting_records"
#: A pair at `auto` whose name-only mention fits two persons.
AMBIGUOUS_NAME_ONLY = "ambiguous_name_only"
#: A pair at `auto` whose dated, placeless record of one index fits two of its persons.
AMBIGUOUS_RECORD = "ambiguous_record"
#: The place gate (also a reviewable guard): no evidence of a move between two addresses.
DIFFERENT_ADDRESSES = "different_addresses"

#: code -> what it means, in the order a steward's filter lists them.
KEPT_APART_REASONS: dict[str, str] = {
    DIFFERENT_ADDRESSES: "Same name and birth date at two addresses with no evidence of a "
    "move (or two houses of one postcode): one person who moved, or two people.",
    AMBIGUOUS_NAME_ONLY: "A name-only mention (no birth date) that fits two persons "
    "equally: which one it is needs a steward.",
    AMBIGUOUS_RECORD: "A dated record without an address that fits two persons of its own "
    "system's index.",
    CONFLICTING: "Scored as a match, but joining them would put two records that "
    "conflict (different identifiers of one kind, or one system's two people) in one "
    "person.",
    UNCERTAIN: "Scored between the review and auto thresholds: the model is unsure.",
    WITHIN_INDEX: "Two records of one system's own index: a suspected duplicate "
    "registration, for the source agency to check.",
    "index_namesakes_at_home": "One name twice at one address in one system's index, one "
    "of them undated: a father and his namesake son, or one man recorded twice.",
    "generation_suffix_one_side": "One name with a Jr/Sr suffix on one side only: a "
    "father and son, or one man whose suffix one agency left out.",
    "index_twins_middle_name": "One system's two records at one address with one birth "
    "date, one forename being the other's middle name: twins, or one child registered "
    "under her middle name.",
    "index_household_surname_typo": "One system's two records at one address whose "
    "surnames differ by a keystroke and forenames differ: twins, or one child keyed twice.",
    "household_name_order": "Two records at one address whose forename on one is the "
    'surname on the other ("Thomas Thomas" beside "Christopher Thomas"): twins, or one '
    "name written in another order.",
    "index_twins_forename": "One system's two records with one surname and birth date "
    "but two different forenames: twins, or one child renamed.",
    "different_middle_names": "One surname and birth date, forenames not one spelling, "
    "and two recorded middle names with nothing in common: twins, or one person.",
    "household_surname_typo": "Two agencies' records at one address and birth date whose "
    "surnames differ by a keystroke and forenames differ: twins, or one person misspelt.",
}

_undescribed = [g for g in REVIEWABLE_GUARDS if g not in KEPT_APART_REASONS]
if _undescribed:  # pragma: no cover - caught by the unit test before it ships
    raise RuntimeError(f"reviewable guards without a description: {', '.join(_undescribed)}")
