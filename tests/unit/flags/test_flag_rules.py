"""The safeguarding rules on hand-made snapshots (no store)."""

from __future__ import annotations

from datetime import date

import pytest

from cpgraph.flags import EventFact, FlagInput, Involvement, Relationship, Rules, evaluate
from cpgraph.flags.engine import best_dob

AS_OF = date(2026, 11, 1)
CHILD, MOTHER, PARTNER, GRAN, FATHER = "child", "mother", "partner", "gran", "father"


def _snapshot(
    rels: list[Relationship],
    events: list[EventFact],
    invs: list[Involvement],
    dobs: dict[str, date | None] | None = None,
) -> FlagInput:
    base = {
        CHILD: date(2016, 4, 3),
        MOTHER: date(1990, 2, 11),
        PARTNER: date(1985, 7, 1),
        GRAN: date(1960, 1, 1),
        FATHER: date(1988, 12, 24),
    }
    return FlagInput(
        as_of=AS_OF,
        dobs={**base, **(dobs or {})},
        relationships=rels,
        involvements=invs,
        events={e.event_id: e for e in events},
    )


def _codes(data: FlagInput) -> list[str]:
    return [f.code for f in evaluate(data)]


LIVES_WITH_PARTNER = Relationship(
    CHILD, PARTNER, "partner_of_parent", True, "2025-07-03", None, ("csc:rel:1",)
)
DA = EventFact(
    "police:occurrence:1",
    "occurrence",
    "domestic_abuse",
    True,
    "domestic_abuse",
    "2022-10-04",
    agency="police",
    system="police",
)


def test_household_adult_with_domestic_abuse_history_is_flagged_with_evidence() -> None:
    data = _snapshot(
        [LIVES_WITH_PARTNER],
        [DA],
        [Involvement(PARTNER, "police:nominal:9", "suspect", DA.event_id)],
    )
    (flag,) = evaluate(data)
    assert flag.code == "HOUSEHOLD_ADULT_DOMESTIC_ABUSE" and flag.person_id == CHILD
    assert flag.event_ids == [DA.event_id]
    assert flag.record_keys == ["csc:rel:1", "police:nominal:9"]
    assert flag.person_ids == [PARTNER]
    assert [(h.from_id, h.to_id, h.relationship) for h in flag.path] == [
        (CHILD, PARTNER, "partner_of_parent")
    ]
    assert "joined the household recently (on 2025-07-03)" in flag.reason
    assert "Partner" not in flag.reason and "suspect" in flag.reason


@pytest.mark.parametrize(
    ("rel", "role", "dob"),
    [
        (LIVES_WITH_PARTNER, "victim", None),  # a victim has no abuse history
        (  # moved out before the reference date
            Relationship(CHILD, PARTNER, "partner_of_parent", True, "2020-01-01", "2024-01-01"),
            "suspect",
            None,
        ),
        (  # related but not living with the child
            Relationship(CHILD, PARTNER, "partner_of_parent", False, "2025-07-03"),
            "suspect",
            None,
        ),
        (LIVES_WITH_PARTNER, "suspect", date(2012, 1, 1)),  # a child, not an adult
    ],
)
def test_household_rule_needs_an_adult_suspect_living_with_the_child(
    rel: Relationship, role: str, dob: date | None
) -> None:
    data = _snapshot(
        [rel],
        [DA],
        [Involvement(PARTNER, "police:nominal:9", role, DA.event_id)],
        {PARTNER: dob} if dob else None,
    )
    assert "HOUSEHOLD_ADULT_DOMESTIC_ABUSE" not in _codes(data)


def _referral(n: int, day: str, nfa: bool, source: str = "2A") -> EventFact:
    return EventFact(
        f"csc:referral:{n}",
        "referral",
        "referral",
        True,
        "referral",
        day,
        agency="childrens_services",
        system="csc",
        facts={"nfa": nfa, "referral_source": source},
    )


def test_relative_concerns_and_nfa_referrals() -> None:
    gran = Relationship(CHILD, GRAN, "grandparent", False, None, None, ("csc:rel:2",))
    r1, r2 = _referral(1, "2025-03-01", True), _referral(2, "2025-09-01", True)
    r3 = _referral(3, "2023-01-01", False)
    invs = [Involvement(CHILD, "csc:person:C", "subject", r.event_id) for r in (r1, r2, r3)] + [
        Involvement(GRAN, "csc:person:G", "referrer", r.event_id) for r in (r1, r2, r3)
    ]
    flags = {f.code: f for f in evaluate(_snapshot([gran], [r1, r2, r3], invs))}
    assert set(flags) == {"REPEATED_RELATIVE_CONCERNS", "NFA_AFTER_RELATIVE_CONCERN"}
    assert flags["NFA_AFTER_RELATIVE_CONCERN"].event_ids == [r1.event_id, r2.event_id]
    assert flags["REPEATED_RELATIVE_CONCERNS"].event_ids == [r1.event_id, r2.event_id]
    assert flags["REPEATED_RELATIVE_CONCERNS"].person_ids == [GRAN]


def test_relative_concerns_more_than_a_year_apart_are_not_repeated() -> None:
    r1, r2 = _referral(1, "2024-01-01", False, "1A"), _referral(2, "2025-06-01", False, "1A")
    invs = [Involvement(CHILD, "csc:person:C", "subject", r.event_id) for r in (r1, r2)]
    assert _codes(_snapshot([], [r1, r2], invs)) == []


def test_injury_during_a_protection_plan_only_inside_the_plan() -> None:
    plan = EventFact(
        "csc:cp_plan:1",
        "cp_plan",
        "neglect",
        True,
        "neglect",
        "2025-01-01",
        "2025-06-30",
        "childrens_services",
        "csc",
    )
    inside = EventFact(
        "nhs:encounter:1",
        "encounter",
        "ae_attendance",
        True,
        "injury",
        "2025-03-01",
        agency="health",
        system="nhs",
    )
    after = EventFact(
        "nhs:encounter:2",
        "encounter",
        "ae_attendance",
        True,
        "injury",
        "2025-08-01",
        agency="health",
        system="nhs",
    )
    invs = [
        Involvement(CHILD, "csc:person:C", "subject", plan.event_id),
        Involvement(CHILD, "nhs:patient:C", "patient", inside.event_id),
        Involvement(CHILD, "nhs:patient:C", "patient", after.event_id),
    ]
    (flag,) = evaluate(_snapshot([], [plan, inside, after], invs))
    assert flag.code == "INJURY_DURING_CHILD_PROTECTION"
    assert flag.event_ids == [plan.event_id, inside.event_id]


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        ("2027-01-14", {"PARENT_IN_CUSTODY", "RELEASE_DUE_SOON"}),
        ("2028-01-14", {"PARENT_IN_CUSTODY"}),
        ("2026-10-01", set()),  # already released
    ],
)
def test_parent_in_custody_and_release_within_90_days(release: str, expected: set[str]) -> None:
    father = Relationship(FATHER, CHILD, "child", False, None, "2020-01-01", ("prison:contact:1",))
    custody = EventFact(
        "prison:custody:1",
        "custody",
        "drugs",
        False,
        None,
        "2024-03-23",
        release,
        "prisons",
        "prison",
    )
    invs = [Involvement(FATHER, "prison:prisoner:A1", "prisoner", custody.event_id)]
    flags = evaluate(_snapshot([father], [custody], invs))
    assert {f.code for f in flags} == expected
    for flag in flags:
        assert flag.person_ids == [FATHER] and flag.path[0].relationship == "parent"
        assert "prison:prisoner:A1" in flag.record_keys


def test_visit_to_a_restricted_prisoner_is_flagged_with_the_shared_visits() -> None:
    visits = [
        EventFact(f"prison:visit:{n}", "visit", "prison_visit", date=f"2026-0{n}-01")
        for n in (4, 5)
    ]
    invs = []
    for v in visits:
        invs.append(Involvement(CHILD, "prison:visitor:V1", "visitor", v.event_id))
        invs.append(Involvement(FATHER, "prison:prisoner:A1", "prisoner", v.event_id, True))
    (flag,) = evaluate(_snapshot([], visits, invs))
    assert flag.code == "RESTRICTED_PRISONER_CONTACT"
    assert flag.path[-1].kind == "SHARED_EVENT"
    assert list(flag.path[-1].event_ids) == [v.event_id for v in visits]
    unrestricted = [Involvement(i.person_id, i.record_key, i.role, i.event_id, False) for i in invs]
    assert _codes(_snapshot([], visits, unrestricted)) == []


def test_flag_ids_are_stable_and_rules_table_is_complete() -> None:
    data = _snapshot(
        [LIVES_WITH_PARTNER],
        [DA],
        [Involvement(PARTNER, "police:nominal:9", "suspect", DA.event_id)],
    )
    assert [f.flag_id for f in evaluate(data)] == [f.flag_id for f in evaluate(data)]
    rules = Rules.load()
    assert len(rules.rules) == 8 and all(r["title"] for r in rules.rules.values())
    with pytest.raises(ValueError, match="lacks"):
        evaluate(data, Rules.load('[[rules]]\ncode = "UNKNOWN"\ntitle = "x"\n'))


def test_best_dob_and_inverse_vocabulary() -> None:
    assert best_dob(["2016-04-03", "2016-03-04", "2016-04-03", None, "bad"]) == date(2016, 4, 3)
    assert best_dob([]) is None
