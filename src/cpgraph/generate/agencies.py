"""What each agency records about a family unit, written with that agency's habits.

Every emitter appends to an :class:`Out` collector: CSV rows (with the person
mention key and true person id when the row describes a person), FHIR resources,
and scenario facts (the records a correct graph must connect to the child).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from cpgraph.contract.identifiers import format_pnc
from cpgraph.contract.spec import NHS_NUMBER_SYSTEM, file_spec, record_key
from cpgraph.generate import noise
from cpgraph.generate.ids import Ids
from cpgraph.generate.names import spellings_of
from cpgraph.generate.noise import Habit
from cpgraph.generate.population import (
    AREAS,
    BACKGROUND,
    EXTRACTED,
    Person,
    Unit,
    rdate,
    years_before,
)
from cpgraph.generate.profile import DEFAULT, GeneratorProfile

HEALTH = "uhb-fhir"
PRISONS = "hmpps-nomis"

#: system -> (agency, organisation, recording habit)
SYSTEMS: dict[str, tuple[str, str, Habit]] = {
    "wmp-niche": ("police", "West Midlands Police", Habit(upper=0.45, pnc_short=0.2)),
    "wmerc-pole": (
        "police",
        "West Mercia Police",
        Habit(uk_dates=1.0, upper=0.95, pnc_short=0.7, typo=0.02),
    ),
    HEALTH: ("health", "University Hospitals Birmingham NHS Foundation Trust", Habit(typo=0.005)),
    "bham-edu": ("education", "Birmingham City Council", Habit(typo=0.01)),
    "sandwell-edu": (
        "education",
        "Sandwell Metropolitan Borough Council",
        Habit(uk_dates=0.9, upper=0.03, typo=0.01),
    ),
    "bham-cs": ("childrens_services", "Birmingham Children's Trust", Habit(uk_dates=0.1)),
    "sandwell-cs": ("childrens_services", "Sandwell Children's Trust", Habit(uk_dates=1.0)),
    PRISONS: ("prisons", "HM Prison and Probation Service", Habit(upper=1.0)),
}

_BOOL_STYLE = {"sandwell-edu": ("Y", "N"), "sandwell-cs": ("Y", "N"), "wmerc-pole": ("1", "0")}
_ROLECODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
_ACTCODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_PARTTYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_PRISONS = (
    ("BMI", "M"),
    ("HEI", "M"),
    ("SFI", "M"),
    ("OWI", "M"),
    ("DGI", "M"),
    ("FHI", "F"),
    ("EWI", "F"),
)
_INJURIES = (
    "bruising to back",
    "bruising to upper arm",
    "fractured wrist",
    "burn to hand",
    "head injury - fall from bed",
    "bite mark on forearm",
    "scald to leg",
)
_MINOR = (
    "fever",
    "asthma exacerbation",
    "laceration to chin",
    "ingested tablets",
    "suspected fracture - fall in playground",
    "ear infection",
    "vomiting",
)


def fmt_bool(system: str, value: bool) -> str:
    """Write a boolean in the system's style."""
    t, f = _BOOL_STYLE.get(system, ("true", "false"))
    return t if value else f


@dataclass
class Fact:
    """A record or event a correct graph must connect to the scenario's child."""

    ref: str
    why: str
    is_event: bool = False


@dataclass
class Out:
    """What one family unit contributes to the extracts."""

    rows: list[tuple[str, str, dict[str, str], str | None, str | None]] = field(
        default_factory=list
    )
    entries: list[tuple[dict[str, Any], str | None, str | None]] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cp_plans: list[tuple[Person, date, date | None, str]] = field(default_factory=list)

    def row(
        self, system: str, file: str, values: dict[str, str], person: Person | None = None
    ) -> str | None:
        """Add a CSV row; for person-mention files return the mention's record key."""
        key = None
        if person is not None:
            spec = file_spec(SYSTEMS[system][0], file)
            assert spec.kind and spec.id_column
            key = record_key(system, spec.kind, values[spec.id_column], spec.upper_id)
        self.rows.append((system, file, values, key, person.pid if person else None))
        return key

    def entry(self, resource: dict[str, Any], person: Person | None = None) -> str | None:
        """Add a FHIR resource; for Patient/RelatedPerson return the mention's record key."""
        key = None
        if person is not None:
            kind = "patient" if resource["resourceType"] == "Patient" else "related_person"
            key = f"{HEALTH}:{kind}:{resource['id']}"
        self.entries.append((resource, key, person.pid if person else None))
        return key

    def fact(self, ref: str | None, why: str, event: bool = False) -> None:
        """Record a must-connect fact (ignored when the record was not written)."""
        if ref:
            self.facts.append(Fact(ref, why, event))


class Agencies:
    """Emits every agency's records for family units (holds the id counters)."""

    def __init__(self, ids: Ids, profile: GeneratorProfile = DEFAULT, seed: int = 0) -> None:
        self.ids = ids
        self.profile = profile
        self.seed = seed

    def emit(self, u: Unit, rng: random.Random, xr: random.Random | None = None) -> Out:
        """Return everything every agency records about unit ``u``.

        Args:
            u: The family unit.
            rng: The unit's random stream.
            xr: A separate stream for recording habits only non-default profiles switch
                on (drawn from only when their rate is non-zero, so ``rng`` is unchanged).

        Returns:
            The unit's rows, FHIR resources, scenario facts and notes.
        """
        out = Out()
        xr = xr or random.Random(f"{self.seed}/profile-rec/{u.index}")
        ctx = _Ctx(self.ids, u, rng, out, self.profile, xr)
        ctx.police()
        ctx.prisons()
        ctx.education()
        ctx.childrens_services()
        ctx.health()
        return out


_PARTNER_LABELS = {
    # agency -> labels a parent's partner is recorded under when labels drift
    "education": ("step_father", "partner_of_parent", "other"),
    "childrens_services": ("step_parent", "partner_of_parent", "other"),
    "education_grandparent": ("grandparent", "carer", "other"),
}
#: health RelatedPerson relationship for a parent's partner: (RoleCode, text)
_HEALTH_PARTNER_LABELS: tuple[tuple[str | None, str | None], ...] = (
    (None, "mother's partner"),
    ("STPFTH", None),
    (None, "step-father"),
    (None, "mum's boyfriend"),
    ("FAMMEMB", None),
)
_SUFFIXES = {"jr": ("Jr", "Jnr", "Junior"), "sr": ("Sr", "Snr", "Senior")}


class _Ctx:  # one unit's emission
    def __init__(
        self,
        ids: Ids,
        u: Unit,
        rng: random.Random,
        out: Out,
        profile: GeneratorProfile = DEFAULT,
        xr: random.Random | None = None,
    ) -> None:
        self.ids, self.u, self.rng, self.out = ids, u, rng, out
        self.prof = profile
        self.xr = xr or random.Random(f"profile-rec/{u.index}")
        self.nominals: dict[tuple[str, str], str] = {}
        self.home_nominal: str | None = None  # the alias variant's home-force nominal
        # per (system, person, what) decisions of the profile's recording habits, so one
        # system records one person consistently
        self.habits: dict[tuple[str, str, str], Any] = {}
        self.suffix: dict[str, str] = {}
        for a, b, kind in u.lookalikes:
            if kind == "jr_sr":
                self.suffix[a.pid], self.suffix[b.pid] = "sr", "jr"
        # a move several agencies missed (drawn only when the profile has such moves)
        self.unnotified_move = bool(
            profile.stale_address_elsewhere
            and u.prev_home
            and self.xr.random() < profile.stale_address_elsewhere
        )

    # -- helpers ------------------------------------------------------------------
    def seq(self, name: str) -> int:
        return self.ids.next(name)

    def decide(self, system: str, p: Person, what: str, rate: float) -> bool:
        """Whether ``system`` has habit ``what`` for ``p`` (drawn once, from the profile stream)."""
        if not rate:
            return False
        k = (system, p.pid, what)
        if k not in self.habits:
            self.habits[k] = self.xr.random() < rate
        return bool(self.habits[k])

    def addr_at(self, p: Person, when: date) -> tuple[str, str]:
        u = self.u
        a = p.address
        if u.prev_home and u.move_date and when < u.move_date and p in (u.mother, *u.children):
            a = u.prev_home
        if a is None:
            return "", ""
        return a.line, a.postcode

    def stale(self, system: str, p: Person) -> bool:
        """Whether ``system`` still has the household's address from before its move."""
        u = self.u
        if not self.unnotified_move or u.prev_home is None or p not in (u.mother, *u.children):
            return False
        return self.decide(system, u.mother, "stale", 0.7)

    def written_address(
        self, system: str, p: Person, when: date, rng: random.Random | None = None
    ) -> tuple[str, str]:
        rng = rng or self.rng
        line, pc = self.addr_at(p, when)
        if self.unnotified_move and self.stale(system, p) and self.u.prev_home:
            line, pc = self.u.prev_home.line, self.u.prev_home.postcode
        if not line:
            return "", ""
        hab = SYSTEMS[system][2]
        return noise.address(rng, line, hab), noise.postcode(rng, pc)

    def habit(self, system: str) -> Habit:
        """The system's recording habit, its typo rate scaled by the profile."""
        hab = SYSTEMS[system][2]
        scale = self.prof.name_typo_scale
        return hab if scale == 1.0 else replace(hab, typo=min(1.0, hab.typo * scale))

    def name(
        self, system: str, s: str, rng: random.Random | None = None, typos: bool = True
    ) -> str:
        hab = self.habit(system) if typos else replace(SYSTEMS[system][2], typo=0.0)
        return noise.name(rng or self.rng, s, hab)

    def date(self, system: str, d: date | None, rng: random.Random | None = None) -> str:
        return noise.fmt_date(d, rng or self.rng, SYSTEMS[system][2])

    def dob(
        self, d: date | None, missing: float = 0.0, rng: random.Random | None = None
    ) -> date | None:
        prof = self.prof
        return noise.dob(
            rng or self.rng,
            d,
            missing,
            swap=prof.dob_day_month_swap,
            day_off=prof.dob_day_off,
            year_off=prof.dob_year_off,
            digits=prof.dob_digit_typo,
        )

    def dt(self, when: date, rng: random.Random | None = None) -> str:
        rng = rng or self.rng
        if rng.random() < 0.1:
            return when.isoformat()
        return f"{when.isoformat()}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"

    def pnc(self, system: str, p: Person, when: date, rng: random.Random | None = None) -> str:
        rng = rng or self.rng
        if p.pnc is None:
            year = max(when.year - rng.randint(0, 6), p.dob.year + 12)
            p.pnc = (min(year, when.year), self.ids.pnc_serial())
        r = rng.random()
        prof = self.prof
        if r < prof.pnc_missing:
            return ""
        hab = SYSTEMS[system][2]
        value = format_pnc(p.pnc[0], p.pnc[1], short=rng.random() < hab.pnc_short)
        if r < round(prof.pnc_missing + prof.pnc_mistyped, 12):
            # mistyped serial digit: check letter no longer matches
            i = value.index("/") + 1 + rng.randrange(7)
            value = value[:i] + str((int(value[i]) + 1) % 10) + value[i + 1 :]
        return value

    def cro(self, p: Person, when: date) -> str:
        """The person's CRO number (allocated on first use)."""
        if p.cro is None:
            p.cro = self.ids.cro(max(when.year - 2, p.dob.year + 12))
        return p.cro

    def spell(self, system: str, p: Person, forename: str, surname: str) -> tuple[str, str]:
        """Forename and surname as ``system`` spells them under the profile.

        Transliterations (Mohammed/Muhammad), a lost hyphen in a double-barrelled
        surname, a Jr/Sr suffix. Without those habits in the profile: unchanged, no draws.
        """
        prof, xr = self.prof, self.xr
        transliterable = spellings_of(p.forename) or spellings_of(p.surname)
        if transliterable and self.decide("*", p, "translit", prof.transliterated_names):
            forename = self.variant(system, p, forename)
            surname = self.variant(system, p, surname)
        if "-" in surname and self.decide(system, p, "hyphen", prof.hyphen_lost):
            k = (system, p.pid, "hyphen-form")
            if k not in self.habits:
                self.habits[k] = xr.choices(("space", "joined", "first", "second"), (4, 2, 1, 2))[0]
            first, second = surname.split("-", 1)
            surname = {
                "space": f"{first} {second}",
                "joined": f"{first}{second.lower()}",
                "first": first,
                "second": second,
            }[self.habits[k]]
        if p.pid in self.suffix and self.decide(system, p, "suffix", prof.jr_sr_suffix):
            k = (system, p.pid, "suffix-form")
            if k not in self.habits:
                self.habits[k] = xr.choice(_SUFFIXES[self.suffix[p.pid]])
            surname = f"{surname} {self.habits[k]}"
        return forename, surname

    def variant(self, system: str, p: Person, name: str) -> str:
        """One system's spelling of a transliterable name (kept or a variant, per system)."""
        options = spellings_of(name)
        if not options:
            return name
        k = (system, p.pid, f"spell:{name}")
        if k not in self.habits:
            self.habits[k] = name if self.xr.random() < 0.4 else self.xr.choice(options)
        return str(self.habits[k])

    def lagged_surname(self, system: str, p: Person, surname: str, when: date) -> str:
        """The surname a system keeps after a change it never recorded (per profile)."""
        prof = self.prof
        agency = SYSTEMS[system][0]
        if (
            agency == "health"
            and p.sex == "F"
            and p.birth_surname != surname
            and self.decide(system, p, "maiden", prof.health_keeps_maiden_name)
        ):
            return p.birth_surname
        if (
            agency == "education"
            and p.previous_surname
            and p.surname_changed
            and p.surname_changed <= when
            and surname == p.surname
            and self.decide(system, p, "previous", prof.school_keeps_previous_surname)
        ):
            return p.previous_surname
        return surname

    def label(self, kind: str, usual: str) -> str:
        """A relationship label, drifting to another plausible one per the profile."""
        rate = self.prof.relationship_label_drift
        if rate and self.xr.random() < rate:
            return self.xr.choice(_PARTNER_LABELS[kind])
        return usual

    def health_partner_label(self) -> tuple[str | None, str | None]:
        """Health's (RoleCode, text) for the mother's partner."""
        rate = self.prof.relationship_label_drift
        if rate and self.xr.random() < rate:
            return self.xr.choice(_HEALTH_PARTNER_LABELS)
        return None, "mother's partner"

    # -- police -------------------------------------------------------------------
    def nominal(self, system: str, p: Person, when: date, variant: bool = False) -> str:
        """Return the nominal id of ``p`` in a force, writing the nominal on first use."""
        k = (system, p.pid)
        if k in self.nominals:
            return self.nominals[k]
        rng = self.rng
        n = self.seq(system + ":nominal")
        nid = f"NM{n:07d}" if system == "wmp-niche" else f"WMR{n:06d}"
        self.nominals[k] = nid
        forename = p.forename
        aliases = list(p.aliases)
        surname = p.surname_at(when)
        nick = p.nickname
        if variant:  # a known-as name, another surname used, or both
            mode = rng.random()
            if nick and mode < 0.6:
                forename = nick
                aliases.append(f"{p.forename} {surname}")
            else:
                alt = p.origin.surnames.pick(rng)
                aliases.append(f"{nick or p.forename} {alt}")
                if mode < 0.85:
                    surname = noise.typo(rng, surname)
        elif nick and rng.random() < self.prof.police_known_as:
            forename = nick
            aliases.append(f"{p.forename} {surname}")
        if (
            p.sex == "F"
            and p.birth_surname != surname
            and rng.random() < self.prof.police_maiden_alias
        ):
            aliases.append(f"{p.forename} {p.birth_surname}")
        is_adult = p.age(when) >= 18
        pnc = (
            self.pnc(system, p, when)
            if is_adult and (variant or rng.random() < self.prof.nominal_pnc)
            else ""
        )
        cro = ""
        prof, xr = self.prof, self.xr
        if pnc and prof.cro_instead_of_pnc and xr.random() < prof.cro_instead_of_pnc:
            cro, pnc = self.cro(p, when), ""
        if is_adult and prof.police_extra_alias and xr.random() < prof.police_extra_alias:
            aliases.append(f"{p.forename} {p.origin.surnames.pick(xr)}")
        forename, surname = self.spell(system, p, forename, surname)
        line, pc = self.written_address(system, p, when)
        self.out.row(
            system,
            "nominals.csv",
            {
                "nominal_id": nid,
                "pnc_id": pnc,
                "cro_number": cro,
                "forename": self.name(system, forename),
                "middle_names": self.name(system, " ".join(p.middles))
                if rng.random() < 0.5
                else "",
                "surname": self.name(system, surname),
                "aliases": ";".join(self.name(system, a) for a in aliases),
                "date_of_birth": self.date(system, self.dob(p.dob, 0.05)),
                "gender": p.sex if rng.random() > 0.01 else "U",
                "address": line,
                "postcode": pc,
            },
            person=p,
        )
        if prof.within_system_duplicates and xr.random() < prof.within_system_duplicates:
            self.duplicate_nominal(system, p, when)
        return nid

    def duplicate_nominal(self, system: str, p: Person, when: date) -> str:
        """A second nominal of ``p`` in the same force (another officer did not find the first).

        Written under a variant of the name (known-as forename, typo, or another surname
        with the real one as alias), usually without the PNC id.
        """
        xr = self.xr
        n = self.seq(system + ":nominal")
        nid = f"NM{n:07d}" if system == "wmp-niche" else f"WMR{n:06d}"
        forename, surname = p.forename, p.surname_at(when)
        aliases: list[str] = []
        mode = xr.random()
        if p.nickname and mode < 0.4:
            forename = p.nickname
        elif mode < 0.7:
            surname = noise.typo(xr, surname)
        else:
            aliases.append(f"{p.forename} {surname}")
            surname = p.origin.surnames.pick(xr)
        forename, surname = self.spell(system, p, forename, surname)
        adult = p.age(when) >= 18
        pnc = self.pnc(system, p, when, rng=xr) if adult and xr.random() < 0.3 else ""
        line, pc = self.written_address(system, p, when, rng=xr)
        key = self.out.row(
            system,
            "nominals.csv",
            {
                "nominal_id": nid,
                "pnc_id": pnc,
                "cro_number": "",
                "forename": self.name(system, forename, rng=xr),
                "middle_names": "",
                "surname": self.name(system, surname, rng=xr),
                "aliases": ";".join(self.name(system, a, rng=xr) for a in aliases),
                "date_of_birth": self.date(system, self.dob(p.dob, 0.2, rng=xr), rng=xr),
                "gender": p.sex,
                "address": line if xr.random() < 0.7 else "",
                "postcode": pc,
            },
            person=p,
        )
        assert key is not None
        return key

    def alias_history(
        self, other: str, home_force: str, partner: Person, ex: Person, when: date
    ) -> str:
        """The new partner's police records under two surnames (the profile's alias variant).

        In ``other`` (the history force): another surname, a CRO number and no PNC id, his
        date of birth, the former partner's address. In the home force: his own surname, a
        PNC id, the child's address, a minor occurrence as witness. The other surname is
        listed as alias on both records or on one of them only.

        Returns:
            The history nominal's id (the scenario's must-connect record).
        """
        xr = self.xr
        alt = partner.origin.surnames.pick(xr)
        for _ in range(20):
            if alt != partner.surname:
                break
            alt = partner.origin.surnames.pick(xr)
        else:
            alt = noise.typo(xr, partner.surname) + "s"
        sides = (
            "both"
            if xr.random() < self.prof.partner_alias_both_sides
            else xr.choice(("history", "home"))
        )
        own = f"{partner.forename} {partner.surname}"
        other_name = f"{partner.forename} {alt}"
        # history force: under the alias surname, CRO only
        n = self.seq(other + ":nominal")
        nid = f"NM{n:07d}" if other == "wmp-niche" else f"WMR{n:06d}"
        self.nominals[(other, partner.pid)] = nid
        assert ex.address is not None
        self._exact_nominal(
            other,
            nid,
            partner,
            alt,
            [own] if sides in ("both", "history") else [],
            "",
            self.cro(partner, when),
            (ex.address.line, ex.address.postcode),
        )
        # home force: his own surname, a PNC id, at the child's address
        n = self.seq(home_force + ":nominal")
        hid = f"NM{n:07d}" if home_force == "wmp-niche" else f"WMR{n:06d}"
        self.nominals[(home_force, partner.pid)] = hid
        if partner.pnc is None:
            issued = max(when.year - xr.randint(0, 6), partner.dob.year + 12)
            partner.pnc = (min(issued, when.year), self.ids.pnc_serial())
        pnc = format_pnc(
            partner.pnc[0], partner.pnc[1], short=xr.random() < SYSTEMS[home_force][2].pnc_short
        )
        hkey = self._exact_nominal(
            home_force,
            hid,
            partner,
            partner.surname,
            [other_name] if sides in ("both", "home") else [],
            pnc,
            "",
            self.addr_at(partner, EXTRACTED),
        )
        seen = rdate(xr, years_before(EXTRACTED, 1), EXTRACTED - timedelta(days=10))
        self.occurrence(
            home_force,
            "other",
            seen,
            partner,
            [(partner, "witness", "none")],
            summary="Witness to a road traffic collision.",
            rng=xr,
        )
        self.home_nominal = hkey
        self.out.notes.append(
            f"alias variant: history nominal under another surname with a CRO number and no "
            f"PNC id; home-force nominal with PNC id; the other surname listed as alias on "
            f"{'both records' if sides == 'both' else f'the {sides} record only'}"
        )
        return nid

    def _exact_nominal(
        self,
        system: str,
        nid: str,
        p: Person,
        surname: str,
        aliases: list[str],
        pnc: str,
        cro: str,
        address: tuple[str, str],
    ) -> str | None:
        """A nominal with the person's exact date of birth and no name typos."""
        xr = self.xr
        return self.out.row(
            system,
            "nominals.csv",
            {
                "nominal_id": nid,
                "pnc_id": pnc,
                "cro_number": cro,
                "forename": self.name(system, p.forename, rng=xr, typos=False),
                "middle_names": "",
                "surname": self.name(system, surname, rng=xr, typos=False),
                "aliases": ";".join(self.name(system, a, rng=xr, typos=False) for a in aliases),
                "date_of_birth": self.date(system, p.dob, rng=xr),
                "gender": p.sex,
                "address": address[0],
                "postcode": address[1],
            },
            person=p,
        )

    def occurrence(
        self,
        system: str,
        otype: str,
        when: date,
        where: Person | None,
        involved: list[tuple[Person, str, str]],
        children_present: bool = False,
        summary: str = "",
        rng: random.Random | None = None,
    ) -> str:
        rng = rng or self.rng
        n = self.seq(system + ":occurrence")
        oid = f"OCC{n:07d}" if system == "wmp-niche" else f"WMR-OC-{n:06d}"
        line, pc = self.written_address(system, where, when, rng=rng) if where else ("", "")
        risk = rng.choice(("standard", "medium", "high")) if otype == "domestic_abuse" else ""
        self.out.row(
            system,
            "occurrences.csv",
            {
                "occurrence_id": oid,
                "occurrence_type": otype,
                "occurred_at": self.dt(when, rng=rng),
                "address": line,
                "postcode": pc,
                "dash_risk": risk,
                "marac_referral": fmt_bool(system, risk == "high" and rng.random() < 0.6)
                if otype == "domestic_abuse"
                else "",
                "children_present": fmt_bool(system, children_present),
                "summary": summary,
            },
        )
        for p, role, rel in involved:
            nid = self.nominal(system, p, when, variant=False)
            self.out.row(
                system,
                "involvements.csv",
                {
                    "occurrence_id": oid,
                    "nominal_id": nid,
                    "role": role,
                    "relationship_to_victim": rel,
                },
            )
        return f"{system}:occurrence:{oid}"

    def police(self) -> None:
        u, rng = self.u, self.rng
        home_force = AREAS[u.area].police
        if u.scenario == "new_partner" and u.partner and u.ex_partner:
            other = "wmerc-pole" if home_force == "wmp-niche" else "wmp-niche"
            partner, ex = u.partner, u.ex_partner
            assert u.partner_since is not None
            when = rdate(
                rng, years_before(u.partner_since, 4), u.partner_since - timedelta(days=30)
            )
            prof = self.prof
            if prof.partner_alias_variant and self.xr.random() < prof.partner_alias_variant:
                nid = self.alias_history(other, home_force, partner, ex, when)
            else:
                nid = self.nominal(other, partner, when, variant=True)
            key = f"{other}:nominal:{nid}"
            self.out.fact(
                key,
                f"the new partner's nominal in another force ({other}), "
                "recorded under a variant name or alias",
            )
            ev = self.occurrence(
                other,
                "domestic_abuse",
                when,
                ex,
                [(ex, "victim", "none"), (partner, "suspect", "partner")],
                summary="Verbal argument escalated; victim reports assault.",
            )
            self.out.fact(
                ev, "domestic abuse by the new partner against a former partner", event=True
            )
            self.out.fact(
                self.home_nominal,
                "the new partner's own record in the home force (PNC id, the child's address)",
            )
            if rng.random() < 0.5:
                later = rdate(rng, when, u.partner_since)
                ev2 = self.occurrence(
                    other,
                    rng.choice(("breach_of_order", "restraining_order")),
                    later,
                    ex,
                    [(partner, "subject", "ex_partner"), (ex, "victim", "none")],
                )
                self.out.fact(ev2, "order against the new partner", event=True)
            self.out.notes.append(
                f"new partner's history is in {other}; household is policed by {home_force}"
            )
        if u.police_da and u.father:
            when = rdate(rng, years_before(EXTRACTED, 5), years_before(EXTRACTED, 0.2))
            split = u.split_date is not None and when > u.split_date
            involved = [
                (u.father, "suspect", "ex_partner" if split else "partner"),
                (u.mother, "victim", "none"),
            ]
            kids = [c for c in u.children if c.dob < when and rng.random() < 0.6]
            involved += [(c, "child_present", "child") for c in kids]
            self.occurrence(
                home_force, "domestic_abuse", when, u.mother, involved, children_present=bool(kids)
            )
        for c in u.children:
            if 12 <= c.age() <= 17 and rng.random() < 0.03:
                when = rdate(rng, years_before(EXTRACTED, 2), EXTRACTED - timedelta(days=5))
                self.occurrence(
                    home_force,
                    "missing_person",
                    when,
                    c,
                    [(c, "subject", "none"), (u.mother, "reporting_person", "parent")],
                )
        if u.scenario == "relative_concerns" and u.grandparents and rng.random() < 0.4:
            g = u.grandparents[0]
            when = rdate(rng, years_before(EXTRACTED, 1.5), EXTRACTED - timedelta(days=10))
            ev = self.occurrence(
                home_force,
                "concern_for_welfare",
                when,
                u.index_child,
                [(u.index_child, "subject", "none"), (g, "reporting_person", "relative")],
                summary="Grandparent worried about bruising on child.",
            )
            self.out.fact(
                ev, "grandparent reported concern for the child's welfare to police", event=True
            )
        if u.prisoner is not None:
            p = u.prisoner
            when = rdate(rng, years_before(EXTRACTED, 7), years_before(EXTRACTED, 1.2))
            force = AREAS[u.prev_area].police
            victim = u.mother if p is u.father and rng.random() < 0.3 else None
            involved = [(p, "offender", "partner" if victim else "none")]
            if victim:
                involved.append((victim, "victim", "none"))
            ev = self.occurrence(
                force, "domestic_abuse" if victim else "assault", when, victim or p, involved
            )
            if u.scenario == "prisoner_family":
                self.out.fact(
                    f"{force}:nominal:{self.nominals[(force, p.pid)]}",
                    "the imprisoned parent's police record",
                )
                self.out.fact(ev, "the offence the parent was convicted of", event=True)
        if u.adult_son and u.father:
            when = rdate(rng, years_before(EXTRACTED, 2), EXTRACTED - timedelta(days=20))
            self.occurrence(
                home_force,
                "assault",
                when,
                u.adult_son,
                [(u.adult_son, "suspect", "none"), (u.father, "reporting_person", "parent")],
            )
        if u.stranger and rng.random() < 0.5:
            s = u.stranger
            assert s.address is not None
            when = rdate(rng, years_before(EXTRACTED, 3), EXTRACTED - timedelta(days=20))
            self.occurrence(
                AREAS[s.address.area].police, "other", when, s, [(s, "witness", "none")]
            )

    # -- prisons ------------------------------------------------------------------
    def prisons(self) -> None:
        u, rng, sysid = self.u, self.rng, PRISONS
        p = u.prisoner
        if p is None:
            return
        n = self.seq("nomis:prisoner")
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        pno = (
            f"{'AG'[n % 2]}{(n // 2) % 10000:04d}{letters[(n // 20000) % 24]}"
            f"{letters[(n // 480000) % 24]}"
        )
        reception = rdate(rng, years_before(EXTRACTED, 4), years_before(EXTRACTED, 0.4))
        soon = rng.random() < 0.45
        release = EXTRACTED + timedelta(days=rng.randint(5, 85) if soon else rng.randint(120, 1500))
        restricted = rng.random() < 0.3
        prison = rng.choice([c for c, s in _PRISONS if s == p.sex])
        rel_line, rel_pc = (
            self.written_address(sysid, u.mother, EXTRACTED)
            if soon and rng.random() < 0.7
            else ("", "")
        )
        offence = rng.choice(("violence", "domestic_abuse", "drugs", "acquisitive", "other"))
        aliases = (
            [f"{p.nickname} {p.surname}"]
            if p.nickname and rng.random() < self.prof.prison_known_as_alias
            else []
        )
        p_forename, p_surname = self.spell(sysid, p, p.forename, p.surname_at(reception))
        pkey = self.out.row(
            sysid,
            "prisoners.csv",
            {
                "prison_number": pno,
                "booking_id": str(1_000_000 + n),
                "pnc_id": self.pnc(sysid, p, reception),
                "forename": self.name(sysid, p_forename),
                "middle_names": self.name(sysid, " ".join(p.middles)),
                "surname": self.name(sysid, p_surname),
                "aliases": ";".join(self.name(sysid, a) for a in aliases),
                "date_of_birth": self.date(sysid, self.dob(p.dob)),
                "gender": p.sex,
                "prison_code": prison,
                "reception_date": self.date(sysid, reception),
                "release_date": self.date(sysid, release),
                "release_address": rel_line,
                "release_postcode": rel_pc,
                "offence_category": offence,
                "child_contact_restriction": fmt_bool(sysid, restricted),
            },
            person=p,
        )
        other_parent = u.mother if p is not u.mother else u.father
        is_bio = p in (u.mother, u.father)
        contacts: list[tuple[Person, str]] = []
        if other_parent is not None:
            contacts.append(
                (
                    other_parent,
                    "wife" if (other_parent.surname == p.surname and p.sex == "M") else "partner",
                )
            )
        for c in u.children:
            contacts.append((c, "child" if is_bio else "step_child"))
        gm = next((g for g in u.grandparents if g.birth_surname == p.birth_surname), None)
        if gm is not None:
            contacts.append((gm, "mother"))
        child_contact = {}
        for person, rel in contacts:
            cid = f"PC{self.seq('nomis:contact'):07d}"
            line, pc = self.written_address(sysid, person, EXTRACTED)
            fn, sn = self.spell(sysid, person, person.forename, person.surname)
            key = self.out.row(
                sysid,
                "contacts.csv",
                {
                    "contact_id": cid,
                    "prison_number": pno,
                    "forename": self.name(sysid, fn),
                    "surname": self.name(sysid, sn),
                    "date_of_birth": self.date(sysid, self.dob(person.dob, 0.4)),
                    "relationship": rel,
                    "address": line,
                    "postcode": pc,
                    "approved_visitor": fmt_bool(sysid, not (restricted and person.age() < 18)),
                    "next_of_kin": fmt_bool(sysid, person is other_parent),
                },
                person=person,
            )
            child_contact[person.pid] = key
        # visits: the other parent with one or two children, sometimes the grandmother
        visitors: list[tuple[Person, str]] = []
        if other_parent is not None:
            visitors.append((other_parent, contacts[0][1]))
        kids = [c for c in u.children if c.age() < 18]
        if u.index_child in kids:
            kids.remove(u.index_child)
            kids.insert(0, u.index_child)
        visitors += [(c, "child" if is_bio else "step_child") for c in kids[:2]]
        if gm is not None and rng.random() < 0.5:
            visitors.append((gm, "mother"))
        vids = {v.pid: f"VR{self.seq('nomis:visitor'):07d}" for v, _ in visitors}
        n_visits = rng.randint(2, 6)
        child_key = None
        child_visits: list[str] = []
        for _ in range(n_visits):
            vdate = rdate(
                rng, max(reception, years_before(EXTRACTED, 1)), EXTRACTED - timedelta(days=2)
            )
            vis = f"VIS{self.seq('nomis:visit'):08d}"
            for person, rel in visitors:
                if person is not u.index_child and rng.random() < 0.25:
                    continue
                nick = person.nickname if person.age() < 18 and rng.random() < 0.2 else None
                fn, sn = self.spell(sysid, person, nick or person.forename, person.surname)
                key = self.out.row(
                    sysid,
                    "visits.csv",
                    {
                        "visit_id": vis,
                        "prison_number": pno,
                        "visit_date": self.date(sysid, vdate),
                        "visitor_id": vids[person.pid],
                        "forename": self.name(sysid, fn),
                        "surname": self.name(sysid, sn),
                        "date_of_birth": self.date(
                            sysid, self.dob(person.dob, 0.3 if person.age() < 18 else 0.6)
                        ),
                        "relationship": rel,
                    },
                    person=person,
                )
                if person is u.index_child:
                    child_key = key
                    child_visits.append(f"{sysid}:visit:{vis}")
        if u.scenario == "prisoner_family":
            self.out.fact(pkey, "the parent in prison")
            self.out.fact(child_key, "the child as a prison visitor of the parent")
            self.out.fact(child_contact.get(u.index_child.pid), "the child as a prisoner's contact")
            for ev in child_visits:
                self.out.fact(ev, "a prison visit by the child", event=True)
            if soon:
                self.out.notes.append("release due within 90 days of extracted_at")
            if restricted:
                self.out.notes.append("prisoner has child_contact_restriction=true")

    # -- education ----------------------------------------------------------------
    def education(self) -> None:
        u = self.u
        cur = AREAS[u.area].education
        prev = AREAS[u.prev_area].education if u.prev_home else None
        raiser = None
        if u.scenario == "relative_concerns":
            raiser = u.grandparents[0] if u.grandparents else u.aunt
        for c in u.children:
            age = c.age()
            systems: list[tuple[str, bool]] = []
            if prev and prev != cur and u.move_date and c.age(u.move_date) >= 4:
                systems.append((prev, False))
            if cur and 4 <= age <= 16:
                systems.append((cur, True))
            if not systems:
                continue
            first_sys = systems[0][0]
            la = next(a.la for a in AREAS.values() if a.education == first_sys)
            if c.upn is None:
                c.upn = self.ids.upn(la, max(c.dob.year + 4, 2000))
            for sysid, current in systems:
                self.pupil(sysid, c, current, raiser)

    def pupil(self, sysid: str, c: Person, current: bool, raiser: Person | None) -> None:
        u, rng = self.u, self.rng
        assert c.upn is not None
        upn = noise.upn(rng, c.upn, spaces=False)  # the key column: case noise only
        admission = max(
            date(c.dob.year + 4, 9, 1),
            u.move_date
            if (current and u.move_date and u.prev_area != u.area)
            else date(c.dob.year + 4, 9, 1),
        )
        leaving = None if current else u.move_date
        when = EXTRACTED if current else (leaving or EXTRACTED)
        surname = c.surname_at(when)
        former = c.previous_surname if (c.surname_changed and c.surname_changed <= when) else ""
        kept = self.lagged_surname(sysid, c, surname, when)
        if kept != surname:  # the school never recorded the change
            surname, former = kept, ""
        forename, surname = self.spell(sysid, c, c.forename, surname)
        school = rng.randrange(40)
        secondary = c.age(when) >= 11
        la = next(a.la for a in AREAS.values() if a.education == sysid)
        line, pc = self.written_address(sysid, c, when)
        key = self.out.row(
            sysid,
            "pupils.csv",
            {
                "upn": upn,
                "former_upn": self.ids.upn(la, 2015) if rng.random() < 0.01 else "",
                "forename": self.name(sysid, forename),
                "middle_names": self.name(sysid, " ".join(c.middles)),
                "surname": self.name(sysid, surname),
                "former_surname": self.name(sysid, former) if former else "",
                "date_of_birth": self.date(sysid, self.dob(c.dob)),
                "gender": c.sex,
                "school_urn": str(100000 + la * 100 + school + (50 if secondary else 0)),
                "school_name": f"{'Secondary' if secondary else 'Primary'} School {school + 1}",
                "admission_date": self.date(sysid, admission),
                "leaving_date": self.date(sysid, leaving),
                "address": line,
                "postcode": pc,
            },
            person=c,
        )
        if c is u.index_child and u.scenario != BACKGROUND and current:
            self.out.fact(key, "the child's school record")
        contacts: list[tuple[Person, str, bool, bool]] = [(u.mother, "mother", True, True)]
        if u.father:
            contacts.append((u.father, "father", True, u.split_date is None))
        if u.partner and current:
            rel = "step_father" if u.partner_married else "partner_of_parent"
            contacts.append((u.partner, self.label("education", rel), False, True))
        for g in u.grandparents:
            if g is raiser or rng.random() < 0.2:
                contacts.append(
                    (g, self.label("education_grandparent", "grandparent"), False, False)
                )
        if u.aunt and (u.aunt is raiser or rng.random() < 0.1):
            contacts.append((u.aunt, "aunt_uncle", False, False))
        raiser_contact = None
        for prio, (p, rel, pr, lives) in enumerate(contacts, start=1):
            cid = f"C{self.seq(sysid + ':contact'):07d}"
            nick = p.nickname if rng.random() < 0.15 else None
            line, pc = self.written_address(sysid, p, when)
            fn, sn = self.spell(
                sysid,
                p,
                nick or p.forename,
                self.lagged_surname(sysid, p, p.surname_at(when), when),
            )
            key = self.out.row(
                sysid,
                "contacts.csv",
                {
                    "contact_id": cid,
                    "upn": upn,
                    "forename": self.name(sysid, fn),
                    "surname": self.name(sysid, sn),
                    "relationship": rel,
                    "parental_responsibility": fmt_bool(sysid, pr),
                    "lives_with_pupil": fmt_bool(sysid, lives),
                    "address": line,
                    "postcode": pc,
                    "priority": str(prio),
                },
                person=p,
            )
            if p is raiser:
                raiser_contact = cid
                if c is u.index_child:
                    self.out.fact(key, "the relative who raised concerns, as a pupil contact")
            if c is u.index_child and current and p is u.partner and u.scenario == "new_partner":
                self.out.fact(key, "the new partner as a pupil contact living with the child")
            if c is u.index_child and current and p is u.mother and u.scenario == "control":
                self.out.fact(key, "the mother as the child's pupil contact")
        terms = ("2025-autumn", "2026-spring", "2026-summer") if current else ("2022-autumn",)
        for term in terms:
            poss = rng.randint(120, 160)
            unauth = (
                rng.randint(0, 4) if u.scenario in (BACKGROUND, "control") else rng.randint(2, 18)
            )
            self.out.row(
                sysid,
                "attendance.csv",
                {
                    "upn": upn,
                    "term": term,
                    "sessions_possible": str(poss),
                    "sessions_authorised_absence": str(rng.randint(0, 8)),
                    "sessions_unauthorised_absence": str(unauth),
                },
            )
        if rng.random() < 0.02:
            self.out.row(
                sysid,
                "exclusions.csv",
                {
                    "upn": upn,
                    "start_date": self.date(
                        sysid, rdate(rng, years_before(EXTRACTED, 1), EXTRACTED - timedelta(days=3))
                    ),
                    "category": "suspension",
                    "sessions": str(rng.randint(1, 6)),
                    "reason": "persistent disruptive behaviour",
                },
            )
        if not current:
            return
        concerns: list[tuple[str, str | None, str, str]] = []
        if c is u.index_child and u.scenario == "relative_concerns" and raiser_contact:
            for _ in range(rng.randint(1, 2)):
                concerns.append(
                    (
                        "relative",
                        raiser_contact,
                        rng.choice(("physical_injury", "emotional", "neglect")),
                        "Relative reports bruising and that child is frightened at home",
                    )
                )
        if c is u.index_child and u.scenario == "new_partner" and rng.random() < 0.5:
            concerns.append(("dsl", None, "domestic_abuse", "Child describes shouting at home"))
        if u.scenario == BACKGROUND and rng.random() < 0.04:
            concerns.append(
                ("teacher", None, rng.choice(("attendance", "neglect", "other")), "Teacher concern")
            )
        for role, contact, cat, summary in concerns:
            n = self.seq(sysid + ":concern")
            cid = f"CN{n:07d}"
            raised = rdate(rng, years_before(EXTRACTED, 1.5), EXTRACTED - timedelta(days=3))
            self.out.row(
                sysid,
                "concerns.csv",
                {
                    "concern_id": cid,
                    "upn": upn,
                    "raised_at": self.dt(raised),
                    "raised_by_role": role,
                    "raised_by_contact_id": contact or "",
                    "category": cat,
                    "summary": summary,
                    "referred_to_childrens_services": fmt_bool(sysid, rng.random() < 0.5),
                },
            )
            if role == "relative":
                self.out.fact(
                    f"{sysid}:school_concern:{cid}",
                    "school concern raised by the relative",
                    event=True,
                )

    # -- children's services ------------------------------------------------------
    def childrens_services(self) -> None:
        u, rng = self.u, self.rng
        sysid = AREAS[u.area].childrens
        involved = (
            u.scenario in ("new_partner", "relative_concerns")
            or u.cs_involved
            or (u.scenario == "prisoner_family" and rng.random() < 0.6)
        )
        if sysid is None or not involved:
            return
        ids: dict[str, str] = {}
        prefix = "BCT" if sysid == "bham-cs" else "SCT-"

        def person(
            p: Person,
            relative: bool,
            alt: bool = False,
            r: random.Random | None = None,
            legacy: bool = False,
        ) -> str:
            """The case person of ``p`` (``alt``: a duplicate; ``legacy``: from the old system)."""
            if p.pid in ids and not alt:
                return ids[p.pid]
            rr = r or rng  # duplicates of non-default profiles draw from the profile stream
            if legacy:  # the council's previous case system, carried over at migration
                pid = f"{prefix}L{self.seq(sysid + ':legacy'):06d}"
            else:
                pid = f"{prefix}{self.seq(sysid + ':person'):07d}"
            if not alt:
                ids[p.pid] = pid
            child = p.age() < 18
            forename = (p.nickname or noise.typo(rr, p.forename)) if alt else p.forename
            surname = p.surname
            when = EXTRACTED
            if legacy:
                forename = p.forename
                when = years_before(EXTRACTED, 3)
                surname = p.surname_at(when)
            forename, surname = self.spell(sysid, p, forename, surname)
            line, pc = self.written_address(sysid, p, when, rng=rr)
            key = self.out.row(
                sysid,
                "persons.csv",
                {
                    "person_id": pid,
                    "upn": noise.upn(rr, p.upn) if child and p.upn and rr.random() < 0.5 else "",
                    "nhs_number": noise.nhs(rr, p.nhs, 0.5 if child else 0.75),
                    "forename": self.name(sysid, forename, rng=rr),
                    "middle_names": self.name(sysid, " ".join(p.middles), rng=rr)
                    if rr.random() < 0.7
                    else "",
                    "surname": self.name(sysid, surname, rng=rr),
                    "date_of_birth": self.date(
                        sysid, self.dob(p.dob, 0.35 if relative else 0.02, rng=rr), rng=rr
                    ),
                    "gender": p.sex,
                    "address": line,
                    "postcode": pc,
                },
                person=p,
            )
            if u.scenario != BACKGROUND and p is u.partner and not alt:
                self.out.fact(key, "the new partner recorded by children's services")
            if not alt:
                self.cs_duplicates(p, relative, person)
            return pid

        raiser = None
        if u.scenario == "relative_concerns":
            raiser = u.grandparents[0] if u.grandparents else u.aunt
        for c in u.children:
            person(c, False)
        if u.scenario == BACKGROUND and rng.random() < self.prof.cs_child_duplicate:
            person(u.index_child, False, alt=True)  # a duplicate record of the same child
        links: list[tuple[Person, str, bool, date | None, date | None, bool]] = [
            (u.mother, "mother", False, None, None, True)
        ]
        if u.father:
            links.append((u.father, "father", True, None, u.split_date, u.split_date is None))
        if u.partner:
            links.append(
                (
                    u.partner,
                    self.label("childrens_services", "partner_of_parent"),
                    True,
                    u.partner_since,
                    None,
                    True,
                )
            )
        for g in u.grandparents:
            if g is raiser or rng.random() < 0.3:
                links.append((g, "grandparent", True, None, None, False))
        if u.aunt and u.aunt is raiser:
            links.append((u.aunt, "aunt_uncle", True, None, None, False))
        if u.adult_son:
            links.append((u.adult_son, "sibling", False, None, None, True))
        for c in u.children:
            cid = ids[c.pid]
            for p, rel, relative, frm, to, lives in links:
                rid = person(p, relative)
                self.out.row(
                    sysid,
                    "relationships.csv",
                    {
                        "person_id": cid,
                        "related_person_id": rid,
                        "relationship": rel,
                        "from_date": self.date(sysid, frm),
                        "to_date": self.date(sysid, to),
                        "lives_with_child": fmt_bool(sysid, lives),
                    },
                )
            for s in u.children:
                if s is not c and s.dob >= c.dob:
                    self.out.row(
                        sysid,
                        "relationships.csv",
                        {
                            "person_id": cid,
                            "related_person_id": ids[s.pid],
                            "relationship": "sibling",
                            "from_date": "",
                            "to_date": "",
                            "lives_with_child": fmt_bool(sysid, True),
                        },
                    )
        child = u.index_child
        chid = ids[child.pid]
        if u.scenario == "relative_concerns" and raiser is not None:
            rid = person(raiser, True)
            self.out.fact(
                f"{sysid}:person:{rid}",
                "the relative who referred the child, as a children's services person",
            )
            title = "Mrs" if raiser.sex == "F" else "Mr"
            for _ in range(rng.randint(2, 4)):
                name = rng.choice(
                    (
                        f"{raiser.forename} {raiser.surname}",
                        f"{title} {raiser.surname}",
                        f"{raiser.nickname or raiser.forename} {raiser.surname} "
                        f"({'grandparent' if raiser in u.grandparents else 'aunt'})",
                    )
                )
                ev = self.referral(
                    sysid,
                    chid,
                    "1A",
                    rid if rng.random() < 0.85 else "",
                    name,
                    "Relative concerned about injuries and partner at home",
                    True,
                    "no_further_action",
                )
                self.out.fact(
                    ev, "referral by the relative, closed with no further action", event=True
                )
        elif u.scenario == "new_partner":
            self.referral(
                sysid, chid, "2A", "", "", "School reports child anxious", False, "assessment"
            )
            self.assessment(sysid, chid, "domestic_abuse;parental_conflict")
        elif u.scenario == "prisoner_family":
            self.referral(
                sysid,
                chid,
                rng.choice(("7", "1A")),
                "",
                "",
                "Parent in custody; family support",
                False,
                "early_help",
            )
        elif u.cs_involved:
            outcome = rng.choice(
                (
                    "no_further_action",
                    "early_help",
                    "assessment",
                    "strategy_discussion",
                    "section_47",
                )
            )
            src = rng.choice(("2A", "3A", "3E", "6", "8", "9", "10", "1D"))
            self.referral(
                sysid, chid, src, "", "", "Referral", outcome == "no_further_action", outcome
            )
            if outcome in ("assessment", "strategy_discussion", "section_47"):
                self.assessment(
                    sysid, chid, rng.choice(("neglect", "mental_health;alcohol", "domestic_abuse"))
                )
                if rng.random() < 0.35:
                    start = rdate(rng, years_before(EXTRACTED, 2), EXTRACTED - timedelta(days=20))
                    end = start + timedelta(days=rng.randint(180, 500))
                    end_d = end if end < EXTRACTED else None
                    n = self.seq(sysid + ":plan")
                    self.out.row(
                        sysid,
                        "cp_plans.csv",
                        {
                            "plan_id": f"CPP{n:06d}",
                            "child_person_id": chid,
                            "start_date": self.date(sysid, start),
                            "end_date": self.date(sysid, end_d),
                            "category": rng.choice(
                                ("neglect", "physical_abuse", "emotional_abuse", "multiple")
                            ),
                        },
                    )
                    self.out.cp_plans.append((child, start, end_d, SYSTEMS[sysid][1]))

    def cs_duplicates(self, p: Person, relative: bool, person: Callable[..., str]) -> None:
        """Second case records of ``p`` in the same system, per the profile."""
        prof, xr = self.prof, self.xr
        if prof.within_system_duplicates and xr.random() < prof.within_system_duplicates:
            person(p, relative, alt=True, r=xr)
        if prof.migrated_council_records and xr.random() < prof.migrated_council_records:
            person(p, relative, alt=True, r=xr, legacy=True)

    def referral(
        self,
        sysid: str,
        chid: str,
        source: str,
        referrer: str,
        name: str,
        summary: str,
        nfa: bool,
        outcome: str,
    ) -> str:
        rng = self.rng
        n = self.seq(sysid + ":referral")
        rid = f"REF{n:07d}"
        when = rdate(rng, years_before(EXTRACTED, 2.5), EXTRACTED - timedelta(days=7))
        self.out.row(
            sysid,
            "referrals.csv",
            {
                "referral_id": rid,
                "child_person_id": chid,
                "referral_date": self.date(sysid, when),
                "source": source,
                "referrer_person_id": referrer,
                "referrer_name": self.name(sysid, name) if name else "",
                "summary": summary,
                "nfa": fmt_bool(sysid, nfa),
                "outcome": outcome,
            },
        )
        return f"{sysid}:referral:{rid}"

    def assessment(self, sysid: str, chid: str, factors: str) -> None:
        rng = self.rng
        n = self.seq(sysid + ":assessment")
        start = rdate(rng, years_before(EXTRACTED, 2), EXTRACTED - timedelta(days=10))
        done = start + timedelta(days=rng.randint(10, 45))
        self.out.row(
            sysid,
            "assessments.csv",
            {
                "assessment_id": f"ASM{n:07d}",
                "child_person_id": chid,
                "start_date": self.date(sysid, start),
                "completed_date": self.date(sysid, done if done < EXTRACTED else None),
                "factors": factors,
                "outcome": rng.choice(("cin_plan", "no_further_action", "early_help")),
            },
        )

    # -- health -------------------------------------------------------------------
    def duplicate_patient(self, p: Person, forename: str, surname: str) -> str | None:
        """A second Patient of ``p`` (registered again, e.g. unconscious in A&E or on a
        temporary registration): usually no NHS number, forename only, maybe a typo."""
        xr, u = self.xr, self.u
        rid = f"pat-{self.seq('fhir:patient'):07d}"
        res: dict[str, Any] = {"resourceType": "Patient", "id": rid}
        if p.nhs and xr.random() < 0.3:
            res["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": p.nhs}]
        if xr.random() < 0.4:
            surname = noise.typo(xr, surname)
        given = p.nickname if p.nickname and xr.random() < 0.3 else forename
        res["name"] = [{"use": "official", "family": surname, "given": [given]}]
        res["gender"] = "male" if p.sex == "M" else "female"
        d = self.dob(p.dob, 0.1, rng=xr)
        if d:
            res["birthDate"] = d.isoformat()
        home = u.prev_home if u.prev_home and p in (u.mother, *u.children) else p.address
        if home is not None and xr.random() < 0.8:
            res["address"] = [{"line": [home.line], "postalCode": home.postcode}]
        return self.out.entry(res, person=p)

    def health(self) -> None:
        u, rng = self.u, self.rng
        prof, xr = self.prof, self.xr
        patients: dict[str, str] = {}

        def patient(p: Person, share: float) -> str | None:
            if rng.random() >= share:
                return None
            n = self.seq("fhir:patient")
            rid = f"pat-{n:07d}"
            line, pc = self.addr_at(p, EXTRACTED)
            if (
                u.prev_home
                and u.move_date
                and p in (u.mother, *u.children)
                and rng.random() < prof.gp_stale_address
            ):
                line, pc = u.prev_home.line, u.prev_home.postcode  # stale GP address
            surname = (
                p.surname
                if rng.random() < prof.health_current_surname
                else p.surname_at(years_before(EXTRACTED, 3))
            )
            surname = self.lagged_surname(HEALTH, p, surname, EXTRACTED)
            forename, surname = self.spell(HEALTH, p, p.forename, surname)
            res: dict[str, Any] = {"resourceType": "Patient", "id": rid}
            if p.nhs and rng.random() < prof.patient_nhs_number:
                res["identifier"] = [
                    {
                        "system": NHS_NUMBER_SYSTEM,
                        "value": noise.nhs(rng, p.nhs) if rng.random() < 0.1 else p.nhs,
                    }
                ]
            res["name"] = [
                {
                    "use": "official",
                    "family": self.name(HEALTH, surname),
                    "given": [forename, *p.middles],
                }
            ]
            res["gender"] = "male" if p.sex == "M" else "female"
            d = self.dob(p.dob)
            if d:
                res["birthDate"] = d.isoformat()
            if line:
                res["address"] = [{"line": [line], "postalCode": noise.postcode(rng, pc)}]
            key = self.out.entry(res, person=p)
            patients[p.pid] = rid
            if p is u.index_child and u.scenario != BACKGROUND:
                self.out.fact(key, "the child's hospital patient record")
            if prof.within_system_duplicates and xr.random() < prof.within_system_duplicates:
                self.duplicate_patient(p, forename, surname)
            return rid

        for c in u.children:
            patient(c, 0.96)
        patient(u.mother, 0.92)
        if u.father:
            patient(u.father, 0.75)
        if u.partner:
            patient(u.partner, 0.65)
        for g in u.grandparents:
            patient(g, 0.6)
        for p, share in (
            (u.aunt, 0.4),
            (u.adult_son, 0.85),
            (u.stranger, 0.8),
            (u.ex_partner, 0.5),
        ):
            if p is not None:
                patient(p, share)

        def related(child_rid: str, p: Person, code: str | None, text: str | None) -> str:
            n = self.seq("fhir:related")
            rid = f"rp-{n:07d}"
            rel: dict[str, Any] = (
                {"coding": [{"system": _ROLECODE, "code": code}]} if code else {"text": text}
            )
            fn, sn = self.spell(
                HEALTH,
                p,
                p.nickname if rng.random() < 0.15 and p.nickname else p.forename,
                self.lagged_surname(HEALTH, p, p.surname, EXTRACTED),
            )
            res: dict[str, Any] = {
                "resourceType": "RelatedPerson",
                "id": rid,
                "patient": {"reference": f"Patient/{child_rid}"},
                "relationship": [rel],
                "name": [
                    {
                        "family": sn,
                        "given": [fn],
                    }
                ],
            }
            d = self.dob(p.dob, 0.6)
            if d:
                res["birthDate"] = d.isoformat()
            line, pc = self.addr_at(p, EXTRACTED)
            if line and rng.random() < 0.7:
                res["address"] = [{"line": [line], "postalCode": pc}]
            self.out.entry(res, person=p)
            return rid

        for c in u.children:
            crid = patients.get(c.pid)
            if crid is None:
                continue
            escorts: dict[str, str] = {}
            if rng.random() < 0.7:
                escorts["mother"] = related(crid, u.mother, "MTH", None)
            if u.father and u.split_date is None and rng.random() < 0.3:
                escorts["father"] = related(crid, u.father, "FTH", None)
            age = c.age()
            if age < 2:
                for _ in range(rng.randint(1, 2)):
                    self.encounter(
                        crid, "HH", rdate(rng, c.dob, EXTRACTED), "health visitor home visit", None
                    )
            for _ in range(rng.choices((0, 1, 2), (50, 35, 15))[0]):
                self.encounter(
                    crid,
                    "AMB",
                    rdate(rng, max(c.dob, years_before(EXTRACTED, 3)), EXTRACTED),
                    "GP appointment",
                    None,
                )
            if c is u.index_child and u.scenario == "relative_concerns":
                if u.partner:
                    escort_key = related(crid, u.partner, *self.health_partner_label())
                    who = "the mother's partner"
                else:
                    escort_key = escorts.get("mother") or related(crid, u.mother, "MTH", None)
                    who = "the mother"
                for _ in range(rng.randint(1, 2)):
                    when = rdate(rng, years_before(EXTRACTED, 1.5), EXTRACTED - timedelta(days=2))
                    ev = self.encounter(crid, "EMER", when, rng.choice(_INJURIES), escort_key)
                    self.out.fact(ev, "A&E attendance with an injury", event=True)
                self.out.fact(
                    f"{HEALTH}:related_person:{escort_key}",
                    f"{who} who brought the child to A&E (escort)",
                )
                raiser = u.grandparents[0] if u.grandparents else None
                if raiser is not None and rng.random() < 0.5:
                    code = "GRMTH" if raiser.sex == "F" else "GRFTH"
                    related(crid, raiser, code, None)
            elif c is u.index_child and u.scenario == "new_partner" and rng.random() < 0.6:
                rp = related(crid, u.partner, *self.health_partner_label()) if u.partner else None
                self.out.fact(
                    f"{HEALTH}:related_person:{rp}" if rp else None,
                    "the new partner as the child's related person",
                )
            elif rng.random() < 0.08:
                when = rdate(rng, years_before(EXTRACTED, 2), EXTRACTED - timedelta(days=2))
                self.encounter(
                    crid,
                    "EMER",
                    when,
                    rng.choice(_MINOR),
                    escorts.get("mother") if rng.random() < 0.5 else None,
                )
            if c is u.index_child and u.scenario == "control" and "mother" in escorts:
                self.out.fact(
                    f"{HEALTH}:related_person:{escorts['mother']}",
                    "the mother as the child's related person",
                )
        for child, start, end, council in self.out.cp_plans:
            crid = patients.get(child.pid)
            if crid is None:
                continue
            n = self.seq("fhir:flag")
            period = {"start": start.isoformat()}
            if end:
                period["end"] = end.isoformat()
            self.out.entry(
                {
                    "resourceType": "Flag",
                    "id": f"flag-{n:07d}",
                    "status": "inactive" if end else "active",
                    "code": {"text": "Child Protection Plan"},
                    "subject": {"reference": f"Patient/{crid}"},
                    "period": period,
                    "author": {"display": council},
                }
            )

    def encounter(
        self, patient_id: str, cls: str, when: date, reason: str, escort: str | None
    ) -> str:
        n = self.seq("fhir:encounter")
        eid = f"enc-{n:07d}"
        res: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": eid,
            "status": "finished",
            "class": {"system": _ACTCODE, "code": cls},
            "subject": {"reference": f"Patient/{patient_id}"},
            "period": {
                "start": f"{when.isoformat()}T{self.rng.randint(0, 23):02d}:"
                f"{self.rng.randint(0, 59):02d}:00+00:00"
            },
            "reasonCode": [{"text": reason}],
        }
        if escort:
            res["participant"] = [
                {
                    "type": [{"coding": [{"system": _PARTTYPE, "code": "ESC"}]}],
                    "individual": {"reference": f"RelatedPerson/{escort}"},
                }
            ]
        self.out.entry(res)
        return f"{HEALTH}:encounter:{eid}"
