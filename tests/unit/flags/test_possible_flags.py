"""Flags through possible matches: the safety net for what linkage could not decide."""

from __future__ import annotations

from datetime import date

from cpgraph.flags import EventFact, FlagInput, Involvement, Relationship, evaluate
from cpgraph.flags.model import CONFIRMED, POSSIBLE, PossibleMatch

AS_OF = date(2026, 11, 1)
CHILD, PARTNER, HISTORY = "child", "partner", "history"
LIVES = Relationship(CHILD, PARTNER, "partner_of_parent", True, "2025-07-03", None, ("cs:rel:1",))
DA = EventFact(
    "wmerc:occurrence:7",
    "occurrence",
    "domestic_abuse",
    True,
    "domestic_abuse",
    "2019-03-02",
    agency="police",
    system="wmerc-pole",
)
# the partner's earlier record, in another force under another surname: its own person
HISTORY_INV = Involvement(HISTORY, "wmerc:nominal:3", "suspect", DA.event_id)


def _pm(evidence: tuple[str, ...], a: str = PARTNER, b: str = HISTORY) -> list[PossibleMatch]:
    keys = ("cs:person:1", "wmerc:nominal:3")
    return [
        PossibleMatch(a, b, "rc-1", 0.97, "different_addresses", evidence, keys),
        PossibleMatch(b, a, "rc-1", 0.97, "different_addresses", evidence, keys),
    ]


def _data(possible: list[PossibleMatch], invs: list[Involvement] | None = None) -> FlagInput:
    return FlagInput(
        as_of=AS_OF,
        dobs={CHILD: date(2016, 4, 3), PARTNER: date(1988, 6, 14), HISTORY: date(1988, 6, 14)},
        relationships=[LIVES],
        involvements=invs if invs is not None else [HISTORY_INV],
        events={DA.event_id: DA},
        possible_matches=possible,
    )


def test_a_possible_match_with_an_abuse_history_raises_a_possible_flag() -> None:
    (flag,) = evaluate(_data(_pm(("alias",))))
    assert flag.code == "HOUSEHOLD_ADULT_DOMESTIC_ABUSE" and flag.person_id == CHILD
    assert flag.confidence == POSSIBLE and flag.candidate_ids == ["rc-1"]
    # the history's records are in the evidence, with the pair behind the possible match
    assert {"wmerc:nominal:3", "cs:person:1", "cs:rel:1"} <= set(flag.record_keys)
    assert flag.event_ids == [DA.event_id]
    assert flag.person_ids == [HISTORY, PARTNER]
    assert [h.kind for h in flag.path] == ["RELATIONSHIP", "POSSIBLE_MATCH"]
    assert "awaits a data steward's decision" in flag.reason and "alias" in flag.reason
    assert '"confidence": "POSSIBLE"' in flag.evidence_json()


def test_a_common_name_alone_raises_nothing() -> None:
    assert evaluate(_data(_pm(()))) == []


def test_a_confirmed_history_and_a_possible_one_are_two_flags() -> None:
    own = Involvement(PARTNER, "wmp:nominal:1", "offender", DA.event_id)
    flags = evaluate(_data(_pm(("relative",)), [own, HISTORY_INV]))
    assert sorted(f.confidence for f in flags) == [CONFIRMED, POSSIBLE]
    assert len({f.flag_id for f in flags}) == 2


def test_a_possible_match_of_the_child_itself_or_a_housemate_is_not_a_history() -> None:
    # a possible match pointing at someone already in the household is not "elsewhere"
    pm = _pm(("alias",), PARTNER, CHILD)
    assert evaluate(_data(pm, [Involvement(CHILD, "x:1", "suspect", DA.event_id)])) == []


def test_a_suspected_duplicate_below_the_review_threshold_raises_nothing() -> None:
    """Spec v14 `within_index_review`: two records of one index scored below `review` are
    queued for the agency (reason `within_index_review`) but are no match claim, so even
    with evidence beyond the name they raise no flag (rules.toml
    `possible_match_quiet_reasons`); the same pair kept apart for another reason does."""
    keys = ("wmerc:nominal:1", "wmerc:nominal:3")
    pm = [
        PossibleMatch(PARTNER, HISTORY, "rc-2", 0.3, "within_index_review", ("address",), keys),
        PossibleMatch(HISTORY, PARTNER, "rc-2", 0.3, "within_index_review", ("address",), keys),
    ]
    assert evaluate(_data(pm)) == []
    loud = [PossibleMatch(p.person_id, p.other_id, "rc", 0.7, "uncertain", p.evidence) for p in pm]
    (flag,) = evaluate(_data(loud))
    assert flag.confidence == POSSIBLE
