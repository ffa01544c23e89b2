"""The safeguarding flag engine: explainable rules over a `FlagInput` snapshot.

Each rule is a method named after its code's check in `FlagEngine.CHECKS`; its
parameters come from the rule table (`rules.toml`). A rule fires for a child
(a person under 18 on the reference date) with a plain-English reason that
names relationships, agencies and dates (never names or free text, so partner
systems may read it) and the evidence behind it: record keys, event ids and the
path from the child to the other people involved. No scores.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable
from datetime import date, timedelta

from cpgraph.flags.model import (
    POSSIBLE,
    EventFact,
    Flag,
    FlagInput,
    Hop,
    Involvement,
    PossibleMatch,
    Relationship,
    Rules,
    parse_day,
)

# Biological or legal parents: still parents after the relationship's end date
# (which records when they stopped living together).
_PARENTS_FOR_LIFE = frozenset({"mother", "father", "parent"})


def _words(value: str | None) -> str:
    return (value or "unknown").replace("_", " ")


def _sorted_unique(values: Iterable[str]) -> list[str]:
    return sorted({v for v in values if v})


def best_dob(dobs: Iterable[str | date | None]) -> date | None:
    """The date of birth most records agree on (ties: the earliest)."""
    counts = Counter(d for d in (parse_day(v) for v in dobs) if d is not None)
    if not counts:
        return None
    return min(counts, key=lambda d: (-counts[d], d))


def age_on(dob: date | None, day: date) -> int | None:
    """Whole years between `dob` and `day` (None without a dob)."""
    if dob is None:
        return None
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


class FlagEngine:
    """Runs every rule of a rule table over a snapshot."""

    def __init__(self, data: FlagInput, rules: Rules | None = None) -> None:
        """Index the snapshot for the rules.

        Args:
            data: persons, relationships, involvements and events as of a date.
            rules: the rule table (default: the packaged one).
        """
        self.data = data
        self.rules = rules or Rules.load()
        self.as_of = data.as_of
        self.adult_age = self.rules.adult_age
        self.rels_of: dict[str, list[Relationship]] = defaultdict(list)
        for rel in data.relationships:
            self.rels_of[rel.from_id].append(rel)
            if rel.to_id != rel.from_id:
                self.rels_of[rel.to_id].append(rel)
        self.inv_of: dict[str, list[Involvement]] = defaultdict(list)
        self.inv_in: dict[str, list[Involvement]] = defaultdict(list)
        for inv in data.involvements:
            if inv.event_id in data.events:
                self.inv_of[inv.person_id].append(inv)
                self.inv_in[inv.event_id].append(inv)
        # Possible matches count only with evidence beyond a shared name and birth date:
        # a common name alone must not put a stranger's history on a child.
        counted = set(self.rules.common.get("possible_match_evidence", ()))
        # ...and never those queued for a reason that is no match claim (a suspected
        # duplicate of one index scored below the review threshold: the agency's question)
        quiet = set(self.rules.common.get("possible_match_quiet_reasons", ()))
        self.possible_of: dict[str, list[PossibleMatch]] = defaultdict(list)
        for pm in data.possible_matches:
            if pm.person_id == pm.other_id or pm.reason in quiet:
                continue
            if counted & set(pm.evidence):
                self.possible_of[pm.person_id].append(pm)
        self.checks: dict[str, Callable[[str], list[Flag]]] = {
            "HOUSEHOLD_ADULT_DOMESTIC_ABUSE": self._household_domestic_abuse,
            "REPEATED_RELATIVE_CONCERNS": self._repeated_relative_concerns,
            "MULTI_AGENCY_CONCERNS": self._multi_agency_concerns,
            "NFA_AFTER_RELATIVE_CONCERN": self._nfa_after_relative_concern,
            "INJURY_DURING_CHILD_PROTECTION": self._injury_during_protection,
            "PARENT_IN_CUSTODY": self._custody,
            "RELEASE_DUE_SOON": self._custody,
            "RESTRICTED_PRISONER_CONTACT": self._restricted_prisoner_contact,
        }
        unknown = set(self.rules.rules) - set(self.checks)
        if unknown:
            raise ValueError(f"rule table names rules the engine lacks: {sorted(unknown)}")

    # ------------------------------------------------------------------ helpers
    def children(self) -> list[str]:
        """Persons under the adult age on the reference date."""
        out = []
        for pid, dob in self.data.dobs.items():
            age = age_on(dob, self.as_of)
            if age is not None and 0 <= age < self.adult_age:
                out.append(pid)
        return sorted(out)

    def is_adult(self, person_id: str) -> bool:
        """18+ on the reference date, or age unknown (treated as adult, as in the API)."""
        age = age_on(self.data.dobs.get(person_id), self.as_of)
        return age is None or age >= self.adult_age

    def event(self, event_id: str) -> EventFact:
        return self.data.events[event_id]

    def related(self, child: str) -> dict[str, list[Relationship]]:
        """The child's relationships grouped by the other person."""
        grouped: dict[str, list[Relationship]] = defaultdict(list)
        for rel in self.rels_of.get(child, []):
            other = rel.other(child)
            if other != child:
                grouped[other].append(rel)
        return grouped

    def household(self, child: str) -> dict[str, list[Relationship]]:
        """Other persons living with the child on the reference date, with those edges."""
        return {
            other: live
            for other, rels in self.related(child).items()
            if (live := [r for r in rels if r.lives_with and r.valid_on(self.as_of)])
        }

    def hops(self, child: str, rels: list[Relationship]) -> list[Hop]:
        """Evidence hops from the child along the given edges."""
        return [
            Hop(
                from_id=child,
                to_id=r.other(child),
                kind="RELATIONSHIP",
                relationship=r.type_seen_from(child),
                lives_with=r.lives_with,
                from_date=r.from_date,
                to_date=r.to_date,
                sources=tuple(r.sources),
            )
            for r in sorted(rels, key=lambda r: (r.type_seen_from(child), r.from_date or ""))
        ]

    def types_of(self, child: str, rels: list[Relationship]) -> list[str]:
        """What the other person is to the child ("parent" dropped when mother/father)."""
        types = {r.type_seen_from(child) for r in rels}
        if types & {"mother", "father"}:
            types.discard("parent")
        return sorted(types)

    def possible_hop(self, person_id: str, pm: PossibleMatch) -> Hop:
        """An evidence hop from a person to a possible match of theirs."""
        return Hop(
            from_id=person_id,
            to_id=pm.other_id,
            kind="POSSIBLE_MATCH",
            relationship="possible_match",
            sources=pm.record_keys,
        )

    @staticmethod
    def possible_reason(pm: PossibleMatch) -> str:
        """Why a possible match is only possible, for a flag's reason (no names)."""
        support = ", ".join(_words(e) for e in sorted(pm.evidence)) or "nothing beyond the name"
        return (
            f"linkage kept the two apart ({_words(pm.reason)}; match probability "
            f"{pm.probability:.2f}; supported by: {support}), so this awaits a data steward's "
            "decision"
        )

    def flag(
        self,
        code: str,
        child: str,
        reason: str,
        *,
        invs: Iterable[Involvement] = (),
        path: Iterable[Hop] = (),
        others: Iterable[str] = (),
        extra_keys: Iterable[str] = (),
        possible: Iterable[PossibleMatch] = (),
    ) -> Flag:
        """Assemble a flag; record keys and events come from the involvements and path."""
        invs = list(invs)
        path = list(path)
        event_ids = _sorted_unique(i.event_id for i in invs)
        keys = {i.record_key for i in invs} | set(extra_keys)
        for hop in path:
            keys.update(hop.sources)
            event_ids = _sorted_unique([*event_ids, *hop.event_ids])
        possible = list(possible)
        ids = _sorted_unique(p.candidate_id for p in possible)
        extra = {"confidence": POSSIBLE, "candidate_ids": ids} if possible else {}
        return Flag(
            code=code,
            title=self.rules.title(code),
            person_id=child,
            reason=reason,
            record_keys=_sorted_unique(keys),
            event_ids=event_ids,
            person_ids=_sorted_unique(o for o in others if o != child),
            path=path,
            events=[self.event(e).snapshot() for e in event_ids],
            as_of=self.as_of.isoformat(),
            **extra,
        )

    def joined_recently(self, rels: list[Relationship], days: int) -> date | None:
        """The latest start of these edges when it is within `days` of the reference date."""
        starts = [d for r in rels if (d := parse_day(r.from_date)) is not None]
        if not starts:
            return None
        start = max(starts)
        if self.as_of - timedelta(days=days) <= start <= self.as_of:
            return start
        return None

    # ------------------------------------------------------------------ running
    def run(self, persons: Collection[str] | None = None) -> list[Flag]:
        """Every rule over every child; sorted by person, code and flag id.

        Args:
            persons: only the children among these (a scoped run, whose snapshot holds
                what their rules read and may hold others only in part).
        """
        children = self.children()
        if persons is not None:
            children = [c for c in children if c in persons]
        flags: dict[str, Flag] = {}
        seen_checks: set[Callable[[str], list[Flag]]] = set()
        for code in self.rules.rules:
            check = self.checks[code]
            if check in seen_checks:
                continue  # one check may serve several codes
            seen_checks.add(check)
            for child in children:
                for flag in check(child):
                    if flag.code in self.rules.rules:
                        flags[flag.flag_id] = flag
        return sorted(flags.values(), key=lambda f: (f.person_id, f.code, f.flag_id))

    # ------------------------------------------------------------------ rules
    def _domestic_abuse_history(self, person_id: str) -> list[tuple[Involvement, str]]:
        """A person's domestic-abuse history as the rule defines it, oldest first."""
        p = self.rules.rules["HOUSEHOLD_ADULT_DOMESTIC_ABUSE"]
        found: list[tuple[Involvement, str]] = []
        for inv in self.inv_of.get(person_id, []):
            ev = self.event(inv.event_id)
            role = inv.role or ""
            if ev.type == "occurrence" and ev.category in p["occurrence_types"]:
                if role in p["roles"]:
                    what = f"{role} in a {_words(ev.category)} occurrence on {ev.date}"
                    found.append((inv, what))
            elif ev.type == "occurrence" and ev.category in p["order_types"]:
                if role not in p["order_excluded_roles"]:
                    found.append((inv, f"subject of a {_words(ev.category)} on {ev.date}"))
            elif ev.type == "custody" and ev.category in p["custody_categories"]:
                found.append(
                    (inv, f"in custody for a {_words(ev.category)} offence since {ev.date}")
                )
        found.sort(key=lambda f: (self.event(f[0].event_id).date or "", f[0].event_id))
        return found

    def _history_text(self, found: list[tuple[Involvement, str]]) -> str:
        return "; ".join(
            f"{what} ({self.event(inv.event_id).agency or 'unknown agency'}, "
            f"{self.event(inv.event_id).system or 'unknown system'})"
            for inv, what in found
        )

    def _household_domestic_abuse(self, child: str) -> list[Flag]:
        code = "HOUSEHOLD_ADULT_DOMESTIC_ABUSE"
        p = self.rules.rules[code]
        out = []
        household = self.household(child)
        for other, rels in sorted(household.items()):
            if not self.is_adult(other):
                continue
            types = ", ".join(_words(t) for t in self.types_of(child, rels))
            joined = self.joined_recently(rels, int(p["recent_days"]))
            when = (
                f", who joined the household recently (on {joined.isoformat()})" if joined else ""
            )
            found = self._domestic_abuse_history(other)
            if found:
                reason = (
                    f"An adult living with the child (their {types}{when}) has a "
                    f"domestic-abuse history: {self._history_text(found)}."
                )
                out.append(
                    self.flag(
                        code,
                        child,
                        reason,
                        invs=[inv for inv, _ in found],
                        path=self.hops(child, rels),
                        others=[other],
                    )
                )
            # the same adult perhaps recorded elsewhere under another name or address:
            # shown as possible until a steward decides
            for pm in sorted(self.possible_of.get(other, []), key=lambda m: m.other_id):
                if pm.other_id == child or pm.other_id in household:
                    continue
                history = self._domestic_abuse_history(pm.other_id)
                if not history:
                    continue
                reason = (
                    f"An adult living with the child (their {types}{when}) may be the same "
                    f"person as someone with a domestic-abuse history: "
                    f"{self._history_text(history)}; {self.possible_reason(pm)}."
                )
                out.append(
                    self.flag(
                        code,
                        child,
                        reason,
                        invs=[inv for inv, _ in history],
                        path=[*self.hops(child, rels), self.possible_hop(other, pm)],
                        others=[other, pm.other_id],
                        possible=[pm],
                    )
                )
        return out

    def _relative_concerns(self, child: str) -> list[tuple[Involvement, list[Involvement], str]]:
        """Concerns about the child raised by a relative: (child's involvement, raiser
        involvements, how we know it was a relative)."""
        common = self.rules.common
        relative_types = set(common["relative_types"])
        relatives = {
            other: rels
            for other, rels in self.related(child).items()
            if relative_types & set(self.types_of(child, rels))
        }
        sources_1a = set(common["relative_referral_sources"])
        found = []
        for inv in self.inv_of.get(child, []):
            if inv.role != "subject":
                continue
            ev = self.event(inv.event_id)
            others = [i for i in self.inv_in[ev.event_id] if i.person_id != child]
            if ev.type == "referral":
                raisers = [i for i in others if i.role == "referrer" and i.person_id in relatives]
                if raisers:
                    found.append((inv, raisers, "referred by a relative"))
                elif ev.facts.get("referral_source") in sources_1a:
                    found.append((inv, [], "referral source 1A (family member or relative)"))
            elif ev.type == "school_concern":
                raisers = [i for i in others if i.role == "raised_by" and i.person_id in relatives]
                if raisers or ev.facts.get("raised_by_role") == "relative":
                    found.append((inv, raisers, "raised at school by a relative"))
            elif ev.type == "occurrence":
                raisers = [
                    i for i in others if i.role == "reporting_person" and i.person_id in relatives
                ]
                if raisers:
                    found.append((inv, raisers, "reported to police by a relative"))
        found.sort(key=lambda f: (self.event(f[0].event_id).date or "", f[0].event_id))
        return found

    def _relative_path(self, child: str, raisers: Iterable[Involvement]) -> list[Hop]:
        related = self.related(child)
        hops: list[Hop] = []
        for pid in sorted({i.person_id for i in raisers}):
            hops.extend(self.hops(child, related.get(pid, [])))
        return hops

    def _best_window(
        self, dated: list[tuple[date, object]], days: int, measure: Callable[[list], int]
    ) -> list:
        """The items of the 12-month (or `days`) window that scores highest on `measure`."""
        dated = sorted(dated, key=lambda d: d[0])
        best: list = []
        best_score = 0
        for i, (start, _) in enumerate(dated):
            window = [item for day, item in dated[i:] if day <= start + timedelta(days=days)]
            score = measure(window)
            if score > best_score:
                best, best_score = window, score
        return best

    def _repeated_relative_concerns(self, child: str) -> list[Flag]:
        code = "REPEATED_RELATIVE_CONCERNS"
        p = self.rules.rules[code]
        concerns = [
            (day, c)
            for c in self._relative_concerns(child)
            if (day := self.event(c[0].event_id).day) is not None
        ]
        window = self._best_window(concerns, int(p["window_days"]), len)
        if len(window) < int(p["min_concerns"]):
            return []
        raisers = [r for _, rs, _ in window for r in rs]
        first, last = (self.event(window[i][0].event_id).date for i in (0, -1))
        kinds = Counter(how for _, _, how in window)
        detail = ", ".join(f"{n} {how}" for how, n in sorted(kinds.items()))
        reason = (
            f"{len(window)} concerns about the child were raised by relatives between "
            f"{first} and {last} ({detail})."
        )
        return [
            self.flag(
                code,
                child,
                reason,
                invs=[c[0] for c in window] + raisers,
                path=self._relative_path(child, raisers),
                others=[r.person_id for r in raisers],
            )
        ]

    def _multi_agency_concerns(self, child: str) -> list[Flag]:
        code = "MULTI_AGENCY_CONCERNS"
        p = self.rules.rules[code]
        excluded = set(p["excluded_types"])
        concerns = []
        for inv in self.inv_of.get(child, []):
            ev = self.event(inv.event_id)
            if ev.is_concern and ev.type not in excluded and ev.day is not None and ev.agency:
                concerns.append((ev.day, inv))
        window = self._best_window(
            concerns,
            int(p["window_days"]),
            lambda w: len({self.event(i.event_id).agency for i in w}),
        )
        agencies = sorted({self.event(i.event_id).agency or "" for i in window})
        if len(agencies) < int(p["min_agencies"]):
            return []
        first, last = (self.event(window[i].event_id).date for i in (0, -1))
        reason = (
            f"{len(agencies)} agencies ({', '.join(_words(a) for a in agencies)}) recorded "
            f"{len(window)} concerns about the child between {first} and {last}."
        )
        return [self.flag(code, child, reason, invs=window)]

    def _nfa_after_relative_concern(self, child: str) -> list[Flag]:
        code = "NFA_AFTER_RELATIVE_CONCERN"
        p = self.rules.rules[code]
        lookback = timedelta(days=int(p["lookback_days"]))
        concerns = self._relative_concerns(child)
        fired: list[Involvement] = []
        supporting: list[tuple[Involvement, list[Involvement]]] = []
        for inv in self.inv_of.get(child, []):
            ev = self.event(inv.event_id)
            if ev.type != "referral" or inv.role != "subject" or ev.day is None:
                continue
            nfa = ev.facts.get("nfa") is True or ev.facts.get("outcome") == "no_further_action"
            if not nfa:
                continue
            before = [
                (c, raisers)
                for c, raisers, _ in concerns
                if (day := self.event(c.event_id).day) is not None
                and ev.day - lookback <= day <= ev.day
            ]
            if before:
                fired.append(inv)
                supporting.extend(before)
        if not fired:
            return []
        fired_ids = {i.event_id for i in fired}
        prior = sorted({c.event_id for c, _ in supporting} - fired_ids)
        raisers = [r for _, rs in supporting for r in rs]
        dates = ", ".join(sorted(self.event(e).date or "?" for e in fired_ids))
        reason = (
            f"{len(fired_ids)} referral(s) about the child (on {dates}) were closed with no "
            f"further action although a relative had raised a concern"
            + (
                f" ({len(prior)} earlier relative concern(s) within {lookback.days} days)."
                if prior
                else " (the referral came from a relative)."
            )
        )
        return [
            self.flag(
                code,
                child,
                reason,
                invs=fired + [c for c, _ in supporting] + raisers,
                path=self._relative_path(child, raisers),
                others=[r.person_id for r in raisers],
            )
        ]

    def _injury_during_protection(self, child: str) -> list[Flag]:
        code = "INJURY_DURING_CHILD_PROTECTION"
        p = self.rules.rules[code]
        protections = []
        for inv in self.inv_of.get(child, []):
            ev = self.event(inv.event_id)
            if ev.type not in p["protection_types"] or ev.day is None:
                continue
            if ev.type == "cp_is_flag" and ev.category not in p["protection_flag_categories"]:
                continue
            protections.append((ev.day, ev.end_day, inv))
        if not protections:
            return []
        injuries: list[Involvement] = []
        covering: dict[str, Involvement] = {}
        for inv in self.inv_of.get(child, []):
            ev = self.event(inv.event_id)
            if not ev.is_concern or ev.concern_category not in p["injury_categories"]:
                continue
            if ev.day is None:
                continue
            hits = [
                pr for pr in protections if pr[0] <= ev.day and (pr[1] is None or ev.day <= pr[1])
            ]
            if hits:
                injuries.append(inv)
                for _, _, pinv in hits:
                    covering[pinv.event_id] = pinv
        if not injuries:
            return []
        injury_dates = ", ".join(sorted({self.event(i.event_id).date or "?" for i in injuries}))
        kinds = ", ".join(sorted({_words(self.event(e).type) for e in covering}))
        reason = (
            f"The child attended with an injury ({injury_dates}) while a protection measure "
            f"was in force ({kinds})."
        )
        return [self.flag(code, child, reason, invs=injuries + list(covering.values()))]

    def _custody(self, child: str) -> list[Flag]:
        parent_types = set(self.rules.common["parent_types"])
        release_days = self.rules.release_days
        household = self.household(child)
        out = []
        for other, rels in sorted(self.related(child).items()):
            parent_rels = [
                r
                for r in rels
                if (t := r.type_seen_from(child)) in parent_types
                and (t in _PARENTS_FOR_LIFE or r.valid_on(self.as_of))
            ]
            chosen = parent_rels or household.get(other, [])
            if not chosen or (not parent_rels and not self.is_adult(other)):
                continue
            for inv in self.inv_of.get(other, []):
                ev = self.event(inv.event_id)
                if ev.type != "custody" or inv.role != "prisoner" or ev.day is None:
                    continue
                end = ev.end_day
                if ev.day > self.as_of or (end is not None and end < self.as_of):
                    continue
                types = ", ".join(_words(t) for t in self.types_of(child, chosen))
                held = f"in custody since {ev.date} ({ev.system or 'prison service'})"
                path = self.hops(child, chosen)
                out.append(
                    self.flag(
                        "PARENT_IN_CUSTODY",
                        child,
                        f"The child's {types} is {held}.",
                        invs=[inv],
                        path=path,
                        others=[other],
                    )
                )
                if end is not None and end <= self.as_of + timedelta(days=release_days):
                    days = (end - self.as_of).days
                    out.append(
                        self.flag(
                            "RELEASE_DUE_SOON",
                            child,
                            f"The child's {types}, {held}, is due for release on "
                            f"{end.isoformat()} ({days} days after {self.as_of.isoformat()}).",
                            invs=[inv],
                            path=path,
                            others=[other],
                        )
                    )
        return out

    def _restricted_prisoner_contact(self, child: str) -> list[Flag]:
        code = "RESTRICTED_PRISONER_CONTACT"
        by_prisoner: dict[str, list[tuple[Involvement, Involvement]]] = defaultdict(list)
        for inv in self.inv_of.get(child, []):
            ev = self.event(inv.event_id)
            if ev.type != "visit" or inv.role != "visitor":
                continue
            for other in self.inv_in[ev.event_id]:
                if (
                    other.role == "prisoner"
                    and other.person_id != child
                    and other.child_contact_restriction is True
                ):
                    by_prisoner[other.person_id].append((inv, other))
        related = self.related(child)
        out = []
        for prisoner, pairs in sorted(by_prisoner.items()):
            visits = sorted({v.event_id for v, _ in pairs})
            dates = ", ".join(sorted({self.event(e).date or "?" for e in visits}))
            rels = related.get(prisoner, [])
            types = ", ".join(_words(t) for t in self.types_of(child, rels)) or "a prisoner"
            shared = Hop(
                from_id=child,
                to_id=prisoner,
                kind="SHARED_EVENT",
                relationship="visited",
                sources=tuple(sorted({k for v, o in pairs for k in (v.record_key, o.record_key)})),
                event_ids=tuple(visits),
            )
            reason = (
                f"The child visited {'their ' + types if rels else types} in prison "
                f"{len(visits)} time(s) ({dates}) although the prisoner's record carries a "
                f"child-contact restriction."
            )
            out.append(
                self.flag(
                    code,
                    child,
                    reason,
                    invs=[x for pair in pairs for x in pair],
                    path=[*self.hops(child, rels), shared],
                    others=[prisoner],
                )
            )
        return out


def evaluate(data: FlagInput, rules: Rules | None = None) -> list[Flag]:
    """Run every rule over a snapshot (the pure core of `compute_flags`)."""
    return FlagEngine(data, rules).run()
