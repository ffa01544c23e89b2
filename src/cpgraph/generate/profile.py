"""Generator profiles: named, independently parameterised behaviours of people and agencies.

A :class:`GeneratorProfile` is data: the rates and probabilities the generator draws
against. ``default`` holds today's constants (and produces byte-identical output to
the generator before profiles existed); the other built-in profiles move a few
behaviours far from it, so a linkage model tuned on some profiles can be judged on
the others (held out). ``docs/scenarios.md`` describes each profile.

Behaviours that did not exist before profiles (rate 0 in ``default``) draw from a
separate random stream per family unit, and only when their rate is non-zero, so
they never perturb ``default``'s streams.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

Role = Literal["tuning", "held_out"]


@dataclass(frozen=True)
class GeneratorProfile:
    """How people behave and agencies record them (every value a rate in [0, 1] unless noted).

    Attributes:
        name: Profile name (``cpgraph generate --profile NAME``).
        description: One line on what the profile stresses.
        role: ``tuning`` (fit thresholds/weights on it) or ``held_out`` (report only).

        household_moved: Share of households that moved house in the last four years.
        move_across_councils: Share of those moves that crossed into another area/council.
        parents_married: Share of two-parent households where the mother took the
            father's surname.
        double_barrelled: Share of unmarried parents' children given a double-barrelled
            ``Mother-Father`` surname.
        twins: Share of households with twins (the eldest child's).
        twins_same_sex: Share of twins of the same sex.
        twins_share_middle_names: Share of twins given the same middle names (they then
            share everything but the forename).
        jr_sr: Share of background households with an adult son named after his father.
        background_split: Share of background two-parent households whose parents split.
        background_new_partner: Share of background splits after which the mother has
            a new partner.
        partner_marries: Share of new partners who marry the mother (her surname changes).
        children_take_partner_surname: Share of those marriages after which the
            children's surname changes too.
        separation_reverts_surname: Share of married mothers who return to their maiden
            name when the parents split.
        same_name_dob_stranger: Share of background households with a stranger who shares
            a parent's forename, surname and date of birth.
        stranger_same_town: Share of those strangers living in the same town and postcode
            district as the family (otherwise anywhere).

        police_known_as: Share of police nominals written under a known-as forename
            (Bill for William), the legal name as alias.
        police_maiden_alias: Share of women's nominals listing the maiden name as alias.
        police_extra_alias: Share of adult nominals with an extra alias (another surname used).
        prison_known_as_alias: Share of prisoners with a known-as alias.
        nominal_pnc: Share of adults' nominals (outside scenarios) that carry a PNC id.
        pnc_missing: Share of PNC ids left blank where one is due.
        pnc_mistyped: Share of PNC ids with a mistyped serial digit.
        cro_instead_of_pnc: Share of adults' nominals with a CRO number and no PNC id.
        patient_nhs_number: Share of hospital patients with an NHS number.
        health_current_surname: Share of patients recorded under their current surname
            (else their surname of three years ago).
        health_keeps_maiden_name: Share of women with a changed surname whom the hospital
            still records under their maiden name.
        school_keeps_previous_surname: Share of people with a changed surname whom a school
            still records (as pupil or contact) under the previous surname.
        gp_stale_address: Share of moved households' hospital records with the old address.
        stale_address_elsewhere: Share of moved households whose move police, schools,
            children's services and prisons missed (each agency independently, 70%).
        relationship_label_drift: Share of relationship labels for a parent's partner
            (or a grandparent) written with another agency-plausible label (step_father,
            partner_of_parent, other, "mum's boyfriend", ``STPFTH``...).
        transliterated_names: Share of people with a transliterable name
            (Mohammed/Muhammad/Mohamed, Hussain/Hussein, Łukasz/Lukasz) whose spelling
            differs by agency.
        hyphen_lost: Share of agencies writing a double-barrelled surname without its
            hyphen, run together, or as one half only.
        jr_sr_suffix: Share of agencies adding Jr/Sr (Jnr, Snr, Junior, Senior) to a father's
            or namesake son's surname (so some have it, some not).
        name_typo_scale: Multiplier on every system's name typo rate (not a rate).
        dob_day_month_swap: Share of dates of birth with day and month swapped.
        dob_day_off: Share of dates of birth a day out.
        dob_year_off: Share of dates of birth a year out.
        dob_digit_typo: Share of dates of birth with two digits transposed (day 13 → 31,
            year 1987 → 1978).
        within_system_duplicates: Share of people a police force, the hospital or
            children's services registers twice (a second nominal under a variant name,
            a second patient without or with the NHS number, a second case person).
        migrated_council_records: Share of children's services persons also present as a
            legacy record carried over from the council's previous case system.
        cs_child_duplicate: Share of background children's services cases with a
            duplicate record of the child (nickname or typo forename).
        partner_alias_variant: Share of new-partner scenarios whose history nominal in the
            other force is under an alias surname with a CRO number and no PNC id, while
            the home force holds him (PNC id, his own surname, the child's address).
        partner_alias_both_sides: In that variant, share where both police records list
            the other surname as alias (else only one of them does).
    """

    name: str = "default"
    description: str = "today's behaviour (the generator before profiles)"
    role: Role = "tuning"
    # the household's story
    household_moved: float = 0.3
    move_across_councils: float = 0.3
    parents_married: float = 0.5
    double_barrelled: float = 0.06
    twins: float = 0.04
    twins_same_sex: float = 0.5
    twins_share_middle_names: float = 0.0
    jr_sr: float = 0.03
    background_split: float = 0.3
    background_new_partner: float = 0.4
    partner_marries: float = 0.3
    children_take_partner_surname: float = 0.5
    separation_reverts_surname: float = 0.0
    same_name_dob_stranger: float = 0.03
    stranger_same_town: float = 0.0
    # how agencies record people
    police_known_as: float = 0.2
    police_maiden_alias: float = 0.5
    police_extra_alias: float = 0.0
    prison_known_as_alias: float = 0.4
    nominal_pnc: float = 0.7
    pnc_missing: float = 0.1
    pnc_mistyped: float = 0.03
    cro_instead_of_pnc: float = 0.0
    patient_nhs_number: float = 0.95
    health_current_surname: float = 0.8
    health_keeps_maiden_name: float = 0.0
    school_keeps_previous_surname: float = 0.0
    gp_stale_address: float = 0.25
    stale_address_elsewhere: float = 0.0
    relationship_label_drift: float = 0.0
    transliterated_names: float = 0.0
    hyphen_lost: float = 0.0
    jr_sr_suffix: float = 0.0
    name_typo_scale: float = 1.0
    dob_day_month_swap: float = 0.015
    dob_day_off: float = 0.007
    dob_year_off: float = 0.005
    dob_digit_typo: float = 0.0
    within_system_duplicates: float = 0.0
    migrated_council_records: float = 0.0
    cs_child_duplicate: float = 0.03
    # the new-partner scenario
    partner_alias_variant: float = 0.0
    partner_alias_both_sides: float = 0.5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("name", "description", "role"):
                continue
            if f.name == "name_typo_scale":
                if not 0.0 <= value <= 20.0:
                    raise ValueError(f"{f.name} must be in [0, 20], got {value}")
            elif not 0.0 <= value <= 1.0:
                raise ValueError(f"{f.name} must be in [0, 1], got {value}")
        dob = self.dob_day_month_swap + self.dob_day_off + self.dob_year_off + self.dob_digit_typo
        if dob > 1.0:
            raise ValueError("date-of-birth noise rates must add up to at most 1")

    def rates(self) -> dict[str, Any]:
        """Every parameter except name, description and role."""
        d = asdict(self)
        for k in ("name", "description", "role"):
            d.pop(k)
        return d

    def changed(self) -> dict[str, Any]:
        """The parameters that differ from ``default``."""
        base = DEFAULT.rates()
        return {k: v for k, v in self.rates().items() if base[k] != v}


DEFAULT = GeneratorProfile()

PROFILES: dict[str, GeneratorProfile] = {
    p.name: p
    for p in (
        DEFAULT,
        replace(
            DEFAULT,
            name="maiden_names",
            description="surnames change at marriage and separation; health keeps the maiden "
            "name, schools the previous one; double-barrelled and hyphen-lost surnames",
            role="tuning",
            parents_married=0.75,
            partner_marries=0.7,
            children_take_partner_surname=0.7,
            separation_reverts_surname=0.6,
            health_keeps_maiden_name=0.6,
            school_keeps_previous_surname=0.5,
            police_maiden_alias=0.2,
            double_barrelled=0.35,
            hyphen_lost=0.5,
            within_system_duplicates=0.03,
            partner_alias_variant=0.25,
        ),
        replace(
            DEFAULT,
            name="alias_heavy",
            description="aliases on one side or both, CRO vs PNC and NHS number vs none, "
            "transliterated names, relationship labels that differ by agency",
            role="held_out",
            police_known_as=0.45,
            police_extra_alias=0.3,
            prison_known_as_alias=0.7,
            pnc_missing=0.2,
            cro_instead_of_pnc=0.35,
            patient_nhs_number=0.7,
            transliterated_names=0.7,
            relationship_label_drift=0.6,
            within_system_duplicates=0.03,
            partner_alias_variant=0.8,
            partner_alias_both_sides=0.4,
        ),
        replace(
            DEFAULT,
            name="stale_addresses",
            description="households move, often across councils, and several agencies keep "
            "the old address at once",
            role="held_out",
            household_moved=0.6,
            move_across_councils=0.7,
            gp_stale_address=0.6,
            stale_address_elsewhere=0.6,
            background_split=0.45,
            within_system_duplicates=0.03,
            partner_alias_variant=0.3,
        ),
        replace(
            DEFAULT,
            name="messy_dates",
            description="dates of birth with day/month swaps, a day or year out, transposed "
            "digits; three times the name typos",
            role="held_out",
            dob_day_month_swap=0.06,
            dob_day_off=0.03,
            dob_year_off=0.02,
            dob_digit_typo=0.03,
            name_typo_scale=3.0,
            within_system_duplicates=0.03,
            partner_alias_variant=0.3,
        ),
        replace(
            DEFAULT,
            name="migrated_systems",
            description="the same person registered twice in one system (two nominals, two "
            "patients, a council's legacy case records)",
            role="held_out",
            within_system_duplicates=0.06,
            migrated_council_records=0.08,
            cs_child_duplicate=0.1,
            patient_nhs_number=0.85,
            partner_alias_variant=0.3,
        ),
        replace(
            DEFAULT,
            name="lookalikes",
            description="twins who share everything but a forename, Jr/Sr with the suffix on "
            "one side only, same-name-same-birthday strangers in one town",
            role="held_out",
            twins=0.15,
            twins_same_sex=0.8,
            twins_share_middle_names=0.8,
            jr_sr=0.15,
            jr_sr_suffix=0.5,
            same_name_dob_stranger=0.12,
            stranger_same_town=0.8,
            within_system_duplicates=0.03,
            partner_alias_variant=0.3,
        ),
        replace(
            DEFAULT,
            name="mixed",
            description="every other profile's behaviours at once, each at about half its "
            "rate there: the mix an agency's real data has; never tuned on",
            role="held_out",
            household_moved=0.45,
            move_across_councils=0.5,
            parents_married=0.6,
            double_barrelled=0.2,
            twins=0.08,
            twins_same_sex=0.65,
            twins_share_middle_names=0.4,
            jr_sr=0.08,
            background_split=0.38,
            partner_marries=0.5,
            children_take_partner_surname=0.6,
            separation_reverts_surname=0.3,
            same_name_dob_stranger=0.06,
            stranger_same_town=0.4,
            police_known_as=0.3,
            police_maiden_alias=0.35,
            police_extra_alias=0.15,
            prison_known_as_alias=0.55,
            pnc_missing=0.15,
            cro_instead_of_pnc=0.18,
            patient_nhs_number=0.85,
            health_keeps_maiden_name=0.3,
            school_keeps_previous_surname=0.25,
            gp_stale_address=0.4,
            stale_address_elsewhere=0.3,
            relationship_label_drift=0.3,
            transliterated_names=0.35,
            hyphen_lost=0.25,
            jr_sr_suffix=0.25,
            name_typo_scale=2.0,
            dob_day_month_swap=0.03,
            dob_day_off=0.015,
            dob_year_off=0.01,
            dob_digit_typo=0.015,
            within_system_duplicates=0.04,
            migrated_council_records=0.04,
            cs_child_duplicate=0.06,
            partner_alias_variant=0.4,
            partner_alias_both_sides=0.45,
        ),
    )
}


def with_rates(profile: GeneratorProfile, rates: dict[str, str]) -> GeneratorProfile:
    """``profile`` with some rates overridden (``cpgraph generate --rate NAME=VALUE``).

    Args:
        profile: The profile to start from.
        rates: Parameter name → value as text (e.g. ``{"within_system_duplicates": "0.08"}``).

    Returns:
        A profile named ``<name>+custom`` carrying the overrides (still validated).

    Raises:
        ValueError: An unknown parameter (with the closest known one), a value that is
            not a number, or one out of range.
    """
    if not rates:
        return profile
    known = {f.name for f in fields(profile)} - {"name", "description", "role"}
    changes: dict[str, Any] = {}
    for name, text in rates.items():
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown generator rate {name!r}{hint}")
        try:
            changes[name] = float(text)
        except ValueError:
            raise ValueError(f"{name} must be a number, got {text!r}") from None
    return replace(profile, name=f"{profile.name}+custom", **changes)


def get_profile(name: str) -> GeneratorProfile:
    """Return a built-in profile by name.

    Args:
        name: One of :data:`PROFILES`.

    Returns:
        The profile.

    Raises:
        ValueError: If no built-in profile has that name.
    """
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown generator profile {name!r} (known: {known})") from None
