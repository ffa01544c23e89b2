"""People, households and their stories (one *family unit* at a time).

A family unit is the people around one set of children: parents, a parent's
new partner, grandparents, an aunt or uncle, sometimes an adult son named after
his father or a stranger who shares a parent's name and birthday. Its story
(split, new partner, marriage and surname change, house move between areas)
decides what each agency could know and how stale its records are.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from cpgraph.generate import names as nm
from cpgraph.generate.ids import Ids
from cpgraph.generate.profile import DEFAULT, GeneratorProfile

EXTRACTED = date(2026, 11, 1)
EXTRACTED_AT = "2026-11-01T02:00:00Z"

SCENARIOS = ("new_partner", "relative_concerns", "prisoner_family", "control")
BACKGROUND = "background"


@dataclass(frozen=True)
class Area:
    """A local area: its police force, education and children's services systems."""

    key: str
    police: str
    education: str | None
    childrens: str | None
    la: int
    outward: tuple[str, ...]


AREAS: dict[str, Area] = {
    "bham": Area(
        "bham",
        "wmp-niche",
        "bham-edu",
        "bham-cs",
        330,
        tuple(f"B{n}" for n in (*range(1, 39), 42, 43, 44, 45, 46, 47, 48)),
    ),
    "sandwell": Area(
        "sandwell",
        "wmp-niche",
        "sandwell-edu",
        "sandwell-cs",
        333,
        tuple(f"B{n}" for n in range(64, 72)),
    ),
    "worcs": Area("worcs", "wmerc-pole", None, None, 885, tuple(f"WR{n}" for n in range(1, 16))),
}
_INWARD = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass(slots=True, frozen=True)
class Address:
    """A home: first line, canonical postcode and area key."""

    line: str
    postcode: str
    area: str


@dataclass(slots=True, eq=False)
class Person:
    """A real human being of the synthetic population (the truth behind mentions)."""

    pid: str
    sex: str
    forename: str
    middles: list[str]
    surname: str
    birth_surname: str
    dob: date
    origin: nm.Origin
    nhs: str | None = None
    upn: str | None = None
    pnc: tuple[int, int] | None = None  # (year of issue, serial)
    cro: str | None = None  # CRO number, for records that carry one instead of a PNC id
    surname_changed: date | None = None  # when ``surname`` replaced ``previous_surname``
    previous_surname: str | None = None
    address: Address | None = None
    aliases: list[str] = field(default_factory=list)

    @property
    def nickname(self) -> str | None:
        """The first curated nickname of the forename, if any."""
        nicks = nm.nicknames_for(self.forename)
        return nicks[0] if nicks else None

    def age(self, on: date = EXTRACTED) -> int:
        """Age in whole years on a date."""
        return on.year - self.dob.year - ((on.month, on.day) < (self.dob.month, self.dob.day))

    def surname_at(self, when: date) -> str:
        """The surname the person used on a date."""
        if self.surname_changed and when < self.surname_changed and self.previous_surname:
            return self.previous_surname
        return self.surname

    def full_name(self) -> str:
        """Forename and surname."""
        return f"{self.forename} {self.surname}"


@dataclass(slots=True, eq=False)
class Unit:
    """One family unit and its story."""

    index: int
    scenario: str
    area: str
    home: Address
    mother: Person
    father: Person | None
    children: list[Person]
    index_child: Person
    prev_home: Address | None = None
    move_date: date | None = None
    split_date: date | None = None
    father_home: Address | None = None
    partner: Person | None = None
    partner_since: date | None = None
    partner_married: bool = False
    grandparents: list[Person] = field(default_factory=list)
    aunt: Person | None = None
    adult_son: Person | None = None
    stranger: Person | None = None
    ex_partner: Person | None = None  # the new partner's previous victim
    lookalikes: list[tuple[Person, Person, str]] = field(default_factory=list)
    # background features
    police_da: bool = False
    cs_involved: bool = False
    prisoner: Person | None = None

    @property
    def prev_area(self) -> str:
        """The area the household lived in before its move (its area if it never moved)."""
        return self.prev_home.area if self.prev_home else self.area

    def everyone(self) -> list[Person]:
        """Every person of the unit, in a fixed order."""
        out = [self.mother]
        if self.father:
            out.append(self.father)
        out.extend(self.children)
        for p in (
            self.partner,
            *self.grandparents,
            self.aunt,
            self.adult_son,
            self.stranger,
            self.ex_partner,
        ):
            if p is not None:
                out.append(p)
        return out


def rdate(rng: random.Random, start: date, end: date) -> date:
    """A uniformly random date in [start, end]."""
    span = (end - start).days
    return start + timedelta(days=rng.randint(0, max(span, 0)))


def years_before(d: date, years: float) -> date:
    """The date ``years`` years before ``d`` (approximate, in days)."""
    return d - timedelta(days=int(years * 365.25))


class PopulationBuilder:
    """Builds family units; one instance per generation run."""

    def __init__(self, seed: int, ids: Ids, profile: GeneratorProfile = DEFAULT) -> None:
        self.seed = seed
        self.ids = ids
        self.profile = profile
        self._pid = 0

    # -- people -------------------------------------------------------------------
    def new_pid(self) -> str:
        """A new true person id."""
        self._pid += 1
        return f"T{self._pid:08d}"

    def person(
        self,
        rng: random.Random,
        sex: str,
        origin: nm.Origin,
        dob: date,
        surname: str | None = None,
        forename: str | None = None,
    ) -> Person:
        """Create a person with names, NHS number and the identifiers their age implies."""
        fn = forename or nm.forename(origin, sex, rng)
        middles: list[str] = []
        r = rng.random()
        if r < 0.45:
            middles.append(nm.forename(origin, sex, rng))
        if r < 0.08:
            middles.append(nm.forename(origin, sex, rng))
        middles = [m for m in middles if m != fn]
        sn = nm.gendered_surname(surname or origin.surnames.pick(rng), sex)
        p = Person(self.new_pid(), sex, fn, middles, sn, sn, dob, origin)
        p.nhs = self.ids.nhs()
        return p

    def address(self, rng: random.Random, area: str) -> Address:
        """A plausible address in an area."""
        a = AREAS[area]
        stem = (
            nm.STREET_STEMS.pick(rng)
            if rng.random() < 0.6
            else nm.origins()[0][0].surnames.pick(rng)
        )
        line = f"{rng.randint(1, 240)} {stem} {nm.STREET_SUFFIXES.pick(rng)}"
        if rng.random() < 0.12:
            line = f"Flat {rng.randint(1, 30)}, {line}"
        pc = (
            f"{rng.choice(a.outward)} {rng.randint(1, 9)}{rng.choice(_INWARD)}{rng.choice(_INWARD)}"
        )
        return Address(line, pc, area)

    def _change_surname(self, p: Person, new: str, when: date) -> None:
        new = nm.gendered_surname(new, p.sex)
        if new == p.surname:
            return
        p.previous_surname = p.surname
        p.surname = new
        p.surname_changed = when

    # -- the unit -----------------------------------------------------------------
    def unit(
        self, index: int, scenario: str, rng: random.Random, xr: random.Random | None = None
    ) -> Unit:
        """Build family unit ``index`` with the given scenario.

        Args:
            index: The unit's index in the run.
            scenario: A scenario name or ``background``.
            rng: The unit's random stream (every behaviour ``default`` has).
            xr: A separate stream for behaviours only other profiles switch on, so that
                they never shift ``rng`` (drawn from only when their rate is non-zero).

        Returns:
            The family unit.
        """
        prof = self.profile
        xr = xr or random.Random(f"{self.seed}/profile-pop/{index}")
        if scenario in ("new_partner", "relative_concerns", "control"):
            area = "bham" if rng.random() < 0.6 else "sandwell"
        else:
            r = rng.random()
            area = "bham" if r < 0.55 else ("sandwell" if r < 0.9 else "worcs")
        origin_m = nm.pick_origin(rng)
        origin_f = origin_m if rng.random() < 0.8 else nm.pick_origin(rng)
        mother_age = rng.uniform(19, 45)
        if scenario != BACKGROUND:
            mother_age = max(mother_age, 24.0)
        mother = self.person(
            rng,
            "F",
            origin_m,
            rdate(
                rng, years_before(EXTRACTED, mother_age + 1), years_before(EXTRACTED, mother_age)
            ),
        )
        has_father = scenario in ("new_partner", "prisoner_family") or rng.random() < 0.85
        jr_sr = scenario == BACKGROUND and has_father and rng.random() < prof.jr_sr
        father = None
        if has_father:
            gap = rng.uniform(-1, 7) if not jr_sr else rng.uniform(0, 4)
            f_age = mother_age + gap
            if jr_sr:
                f_age = max(f_age, 44.0)
            father = self.person(
                rng,
                "M",
                origin_f,
                rdate(rng, years_before(EXTRACTED, f_age + 1), years_before(EXTRACTED, f_age)),
            )
        married = father is not None and rng.random() < prof.parents_married
        if married and father is not None:
            wed = rdate(
                rng, years_before(EXTRACTED, min(mother_age - 18, 15)), years_before(EXTRACTED, 1)
            )
            self._change_surname(mother, father.surname, wed)

        # children
        n = rng.choices((1, 2, 3, 4), (35, 35, 20, 10))[0]
        earliest = max(years_before(EXTRACTED, 17.5), years_before(EXTRACTED, mother_age - 18))
        child_origin = origin_f if father and rng.random() < 0.7 else origin_m
        if father and (married or rng.random() < 0.6):
            child_surname = father.surname
        else:
            child_surname = mother.birth_surname
        if father and not married and rng.random() < prof.double_barrelled:
            child_surname = f"{mother.birth_surname}-{father.surname}"
        children: list[Person] = []
        for _ in range(n):
            sex = "M" if rng.random() < 0.51 else "F"
            children.append(
                self.person(
                    rng,
                    sex,
                    child_origin,
                    rdate(rng, earliest, EXTRACTED - timedelta(days=30)),
                    surname=child_surname,
                )
            )
        if scenario != BACKGROUND:  # an index child of school age
            c0 = children[0]
            c0.dob = rdate(
                rng,
                years_before(EXTRACTED, min(15.5, mother_age - 18.5)),
                years_before(EXTRACTED, 5.5),
            )
        children.sort(key=lambda c: c.dob)
        index_child = max(
            (c for c in children if 5 <= c.age() <= 15), key=lambda c: c.dob, default=children[0]
        )
        lookalikes: list[tuple[Person, Person, str]] = []
        if rng.random() < prof.twins:  # twins of the eldest child
            a = children[0]
            sex = a.sex if rng.random() < prof.twins_same_sex else ("F" if a.sex == "M" else "M")
            twin = self.person(rng, sex, child_origin, a.dob, surname=child_surname)
            # twins get two names, not one name's two spellings or forms
            while nm.one_given_name(twin.forename, a.forename):
                twin.forename = nm.forename(child_origin, sex, rng)
            if prof.twins_share_middle_names and xr.random() < prof.twins_share_middle_names:
                twin.middles = [m for m in a.middles if m != twin.forename]
            children.insert(1, twin)
            lookalikes.append((a, twin, "twin"))
        home = self.address(rng, area)
        u = Unit(
            index,
            scenario,
            area,
            home,
            mother,
            father,
            children,
            index_child,
            lookalikes=lookalikes,
        )

        # a move from another address (maybe another area)
        if rng.random() < prof.household_moved:
            prev_area = (
                area
                if rng.random() < round(1.0 - prof.move_across_councils, 12)
                else rng.choice([k for k in AREAS if k != area])
            )
            u.prev_home = self.address(rng, prev_area)
            u.move_date = rdate(rng, years_before(EXTRACTED, 4), years_before(EXTRACTED, 0.3))
        # split and new partner
        split = (
            father is not None
            and not jr_sr
            and (
                scenario == "new_partner"
                or (scenario == BACKGROUND and rng.random() < prof.background_split)
            )
        )
        if split and father is not None:
            u.split_date = rdate(rng, years_before(EXTRACTED, 5), years_before(EXTRACTED, 1.5))
            u.father_home = self.address(
                rng, area if rng.random() < 0.7 else rng.choice(list(AREAS))
            )
            if (
                prof.separation_reverts_surname
                and mother.surname_changed is not None
                and mother.surname_changed < u.split_date
                and xr.random() < prof.separation_reverts_surname
            ):  # back to her maiden name some months after the split
                self._change_surname(
                    mother,
                    mother.birth_surname,
                    u.split_date + timedelta(days=xr.randint(30, 300)),
                )
        if u.split_date and (
            scenario == "new_partner" or rng.random() < prof.background_new_partner
        ):
            p_age = mother_age + rng.uniform(-3, 9)
            porigin = nm.pick_origin(rng)
            partner = self.person(
                rng,
                "M",
                porigin,
                rdate(rng, years_before(EXTRACTED, p_age + 1), years_before(EXTRACTED, p_age)),
            )
            u.partner = partner
            u.partner_since = rdate(
                rng, u.split_date + timedelta(days=60), years_before(EXTRACTED, 0.3)
            )
            if rng.random() < prof.partner_marries:
                u.partner_married = True
                wed = rdate(rng, u.partner_since, EXTRACTED - timedelta(days=30))
                self._change_surname(mother, partner.surname, wed)
                if rng.random() < prof.children_take_partner_surname:
                    for c in children:
                        self._change_surname(c, partner.surname, wed)
        # grandparents, aunt/uncle
        g_needed = scenario == "relative_concerns"
        if rng.random() < 0.6 or g_needed:
            gm_age = mother_age + rng.uniform(19, 32)
            gm = self.person(
                rng,
                "F",
                origin_m,
                rdate(rng, years_before(EXTRACTED, gm_age + 1), years_before(EXTRACTED, gm_age)),
                surname=mother.birth_surname,
            )
            gm.address = self.address(rng, area if rng.random() < 0.8 else "worcs")
            u.grandparents.append(gm)
            if rng.random() < 0.4:
                gf = self.person(
                    rng,
                    "M",
                    origin_m,
                    rdate(rng, years_before(gm.dob, 6), years_before(gm.dob, -1)),
                    surname=mother.birth_surname,
                )
                gf.address = gm.address
                u.grandparents.append(gf)
        if father and rng.random() < 0.3:
            pgm_age = mother_age + rng.uniform(20, 34)
            pgm = self.person(
                rng,
                "F",
                origin_f,
                rdate(rng, years_before(EXTRACTED, pgm_age + 1), years_before(EXTRACTED, pgm_age)),
                surname=father.birth_surname,
            )
            pgm.address = self.address(rng, area)
            u.grandparents.append(pgm)
        if rng.random() < 0.35 or (g_needed and rng.random() < 0.3):
            sex = "F" if rng.random() < 0.7 else "M"
            aunt = self.person(
                rng,
                sex,
                origin_m,
                rdate(rng, years_before(mother.dob, 8), years_before(mother.dob, -8)),
                surname=mother.birth_surname,
            )
            if sex == "F" and rng.random() < 0.5:
                self._change_surname(
                    aunt,
                    origin_m.surnames.pick(rng),
                    rdate(rng, years_before(EXTRACTED, 10), EXTRACTED),
                )
            aunt.address = self.address(rng, area)
            u.aunt = aunt
        if jr_sr and father is not None:
            son_age = rng.uniform(18, min(26, father.age() - 18))
            son = self.person(
                rng,
                "M",
                origin_f,
                rdate(rng, years_before(EXTRACTED, son_age + 1), years_before(EXTRACTED, son_age)),
                surname=father.surname,
                forename=father.forename,
            )
            u.adult_son = son
            lookalikes.append((father, son, "jr_sr"))
        if scenario == BACKGROUND and rng.random() < prof.same_name_dob_stranger:
            orig = father if father and rng.random() < 0.5 else mother
            other = nm.pick_origin(rng)
            stranger = self.person(
                rng, orig.sex, other, orig.dob, surname=orig.surname, forename=orig.forename
            )
            stranger.address = self.address(rng, rng.choice(list(AREAS)))
            if prof.stranger_same_town and xr.random() < prof.stranger_same_town:
                # another street in the family's own postcode district
                near = self.address(xr, area)
                district = home.postcode.split(" ")[0]
                stranger.address = Address(
                    near.line, f"{district} {near.postcode.split(' ')[1]}", area
                )
            u.stranger = stranger
            lookalikes.append((orig, stranger, "same_name_dob"))
        # addresses of the household members
        for p in (mother, *children):
            p.address = home
        if father:
            father.address = u.father_home or home
        if u.partner:
            u.partner.address = home
        if u.adult_son:
            u.adult_son.address = home
        # police identifiers for adults who come to police notice
        if scenario == "new_partner" and u.partner:
            ex = self.person(
                rng,
                "F",
                nm.pick_origin(rng),
                rdate(rng, years_before(u.partner.dob, 6), years_before(u.partner.dob, -6)),
            )
            ex.address = self.address(rng, "worcs" if area != "worcs" else "bham")
            u.ex_partner = ex
        if scenario == BACKGROUND:
            u.police_da = father is not None and rng.random() < 0.12
            u.cs_involved = rng.random() < 0.10
            if father is not None and rng.random() < 0.03:
                u.prisoner = father
        elif scenario == "prisoner_family":
            u.prisoner = father if father and rng.random() < 0.85 else mother
        return u
