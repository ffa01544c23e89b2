"""Generator profiles: each one generates valid, deterministic extracts and shows its behaviours."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import FrozenInstanceError, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cpgraph.contract import validate_extract
from cpgraph.contract.identifiers import pnc_is_valid
from cpgraph.generate import PROFILES, generate, get_profile
from cpgraph.generate.ids import Ids
from cpgraph.generate.names import one_given_name, spellings_of
from cpgraph.generate.noise import _transpose_digits, dob
from cpgraph.generate.population import PopulationBuilder
from cpgraph.generate.profile import DEFAULT, GeneratorProfile
from tests.factories import GeneratedPopulation
from tests.unit.generate.mentions import csv_rows, loadable_mentions

HOUSEHOLDS = 300  # 10 of each scenario
SEED = 11
POLICE = ("wmp-niche", "wmerc-pole")
RISK_SYSTEMS = {"wmp-niche", "wmerc-pole", "bham-cs", "sandwell-cs", "hmpps-nomis"}


@pytest.fixture(scope="module")
def pops(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GeneratedPopulation]:
    """Every built-in profile generated once (same seed and size)."""
    out = {}
    for name in PROFILES:
        root = tmp_path_factory.mktemp(name)
        summary = generate(root, HOUSEHOLDS, SEED, error_rate=0.03, profile=name)
        out[name] = GeneratedPopulation(root, summary)
    return out


def _digest(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in skip
    }


def _resources(pop: GeneratedPopulation) -> Iterator[dict[str, Any]]:
    for path in sorted((pop.extract("uhb-fhir") / "bundles").glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        for e in data.get("entry", []):
            yield e["resource"]


def _date(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    if "/" in text:
        d, m, y = text.split("/")
        return date(int(y), int(m), int(d))
    return date.fromisoformat(text)


def _norm(s: str) -> str:
    return " ".join(s.split()).casefold()


def _pc(s: str) -> str:
    return "".join(s.split()).upper()


def _rows_by_key(pop: GeneratedPopulation, system: str, file: str, kind: str, col: str) -> dict:
    """Rows of a person-mention file by record key (UPNs upper-cased, as record keys are)."""
    rows = csv_rows(pop.extract(system), file)
    if kind == "pupil":
        return {f"{system}:{kind}:{r[col].strip().upper()}": r for _, r in rows}
    return {f"{system}:{kind}:{r[col].strip()}": r for _, r in rows}


# -- every profile -------------------------------------------------------------------
def test_profiles_are_data_with_distinct_names_and_roles() -> None:
    assert len(PROFILES) >= 5 and PROFILES["default"] == DEFAULT
    assert DEFAULT.changed() == {}
    roles = Counter(p.role for p in PROFILES.values())
    assert roles["tuning"] >= 2 and roles["held_out"] >= 3
    for name, p in PROFILES.items():
        assert p.name == name and p.description
        if name != "default":
            assert len(p.changed()) >= 3, name  # differs strongly from default
    with pytest.raises(ValueError):
        get_profile("no_such_profile")
    with pytest.raises(ValueError):
        GeneratorProfile(twins=1.5)
    with pytest.raises(FrozenInstanceError):
        DEFAULT.twins = 0.5  # type: ignore[misc]


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_extracts_follow_the_contract(
    pops: dict[str, GeneratedPopulation], name: str
) -> None:
    pop = pops[name]
    got = {
        (p.system, p.file, p.line)
        for folder in pop.extracts()
        for p in validate_extract(folder)
        if p.severity == "error"
    }
    assert got == pop.quarantine_expected()
    truth = pop.truth()
    found: set[str] = set()
    for folder in pop.extracts():
        found |= loadable_mentions(folder)
    assert set(truth) == found
    assert len(set(truth.values())) == pop.summary.persons


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_records_itself_and_keeps_the_scenarios(
    pops: dict[str, GeneratedPopulation], name: str
) -> None:
    pop = pops[name]
    meta = json.loads((pop.root / "generate.json").read_text(encoding="utf-8"))
    assert meta["profile"] == name == pop.summary.profile
    assert meta["seed"] == SEED and meta["households"] == HOUSEHOLDS
    assert meta["parameters"] == PROFILES[name].rates()
    truth = pop.truth()
    scenarios = pop.scenarios()
    assert Counter(s["scenario"] for s in scenarios) == {
        "new_partner": 10,
        "relative_concerns": 10,
        "prisoner_family": 10,
        "control": 10,
    }
    for s in scenarios:
        assert {truth[k] for k in s["child_record_keys"]} == {s["child_true_person_id"]}
        for m in s["must_connect"]:
            if "record_key" in m:
                assert m["record_key"] in truth
        if s["scenario"] == "new_partner":  # the history and its occurrence stay listed
            keys = [m.get("record_key", "") for m in s["must_connect"]]
            events = [m.get("event_id", "") for m in s["must_connect"]]
            assert any(k.startswith("wmerc-pole:nominal:") for k in keys), s["id"]
            assert any(e.startswith("wmerc-pole:occurrence:") for e in events), s["id"]


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_control_households_stay_risk_free(pops: dict[str, GeneratedPopulation], name: str) -> None:
    truth = pops[name].truth()
    keys_of: dict[str, list[str]] = defaultdict(list)
    for k, v in truth.items():
        keys_of[v].append(k)
    for s in pops[name].scenarios():
        if s["scenario"] != "control":
            continue
        child = s["child_true_person_id"]
        assert not {k.split(":")[0] for k in keys_of[child]} & RISK_SYSTEMS, s["id"]
        for m in s["must_connect"]:
            ref = m.get("record_key") or m["event_id"]
            assert ref.split(":")[0] not in RISK_SYSTEMS, (s["id"], ref)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_same_seed_same_bytes(tmp_path: Path, name: str) -> None:
    generate(tmp_path / "a", 25, 4, profile=name)
    generate(tmp_path / "b", 25, 4, profile=name)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_default_profile_is_the_generator_without_a_profile(tmp_path: Path) -> None:
    generate(tmp_path / "plain", 40, 6)
    generate(tmp_path / "named", 40, 6, profile="default")
    generate(tmp_path / "copy", 40, 6, profile=replace(DEFAULT, name="copy"))
    plain = _digest(tmp_path / "plain")
    assert plain == _digest(tmp_path / "named")
    # a profile with default's rates writes the same extracts whatever its name
    assert _digest(tmp_path / "plain", ("generate.json",)) == _digest(
        tmp_path / "copy", ("generate.json",)
    )


def test_other_profiles_write_other_extracts(pops: dict[str, GeneratedPopulation]) -> None:
    base = _digest(pops["default"].root, ("generate.json",))
    for name, pop in pops.items():
        if name != "default":
            assert _digest(pop.root, ("generate.json",)) != base, name


@pytest.mark.parametrize(
    "rates",
    [
        {"transliterated_names": 1.0},
        {"relationship_label_drift": 1.0},
        {"hyphen_lost": 1.0, "jr_sr_suffix": 1.0},
        {"health_keeps_maiden_name": 1.0, "school_keeps_previous_surname": 1.0},
    ],
)
def test_recording_habits_do_not_shift_the_population(tmp_path: Path, rates: dict) -> None:
    """Habits that only change how names and labels are written draw from their own stream:
    the same people, the same record keys, the same rows as default."""
    generate(tmp_path / "base", 60, 9)
    generate(tmp_path / "habit", 60, 9, profile=replace(DEFAULT, name="habit", **rates))
    for f in ("truth.csv", "hard_negatives.csv", "quarantine_expected.csv", "scenarios.json"):
        assert (tmp_path / "base" / f).read_bytes() == (tmp_path / "habit" / f).read_bytes(), f
    assert _digest(tmp_path / "base", ("generate.json",)) != _digest(
        tmp_path / "habit", ("generate.json",)
    )


# -- noise --------------------------------------------------------------------------
def test_dob_noise_defaults_and_digit_transpositions() -> None:
    import random

    d = date(1987, 5, 13)
    assert _transpose_digits(d, day_first=True) == date(1987, 5, 31)
    assert _transpose_digits(d, day_first=False) == date(1978, 5, 13)
    assert _transpose_digits(date(2015, 2, 13), day_first=True) == date(2015, 2, 13)  # no 31 Feb
    # same draws, same answers as the constants the rates replaced
    a, b = random.Random(1), random.Random(1)
    for _ in range(5000):
        assert dob(a, d) == dob(b, d, 0.0, 0.015, 0.007, 0.005, 0.0)
    rng = random.Random(2)
    messy = sum(dob(rng, d, digits=0.5) != d for _ in range(2000))
    assert messy > 800


# -- each profile's behaviours ------------------------------------------------------
def _health_surnames(pop: GeneratedPopulation) -> dict[str, set[str]]:
    truth = pop.truth()
    out: dict[str, set[str]] = defaultdict(set)
    for res in _resources(pop):
        kind = {"Patient": "patient", "RelatedPerson": "related_person"}.get(res["resourceType"])
        key = f"uhb-fhir:{kind}:{res['id']}"
        if kind and key in truth and res.get("name"):
            out[truth[key]].add(_norm(res["name"][0].get("family", "")))
    return out


def _school_contact_surnames(pop: GeneratedPopulation) -> dict[str, set[str]]:
    truth = pop.truth()
    out: dict[str, set[str]] = defaultdict(set)
    for system in ("bham-edu", "sandwell-edu"):
        for key, r in _rows_by_key(pop, system, "contacts.csv", "contact", "contact_id").items():
            if key in truth:
                out[truth[key]].add(_norm(r["surname"]))
    return out


def _surname_disagreements(pop: GeneratedPopulation) -> int:
    health, school = _health_surnames(pop), _school_contact_surnames(pop)
    return sum(1 for pid in health.keys() & school.keys() if not health[pid] & school[pid])


def test_maiden_names_health_and_school_disagree_on_surnames(
    pops: dict[str, GeneratedPopulation],
) -> None:
    maiden = _surname_disagreements(pops["maiden_names"])
    default = _surname_disagreements(pops["default"])
    assert maiden >= 15
    assert maiden > 3 * default


def test_maiden_names_loses_hyphens_of_double_barrelled_surnames(
    pops: dict[str, GeneratedPopulation],
) -> None:
    def counts(pop: GeneratedPopulation) -> int:
        truth = pop.truth()
        surnames: dict[str, set[str]] = defaultdict(set)
        for system in ("bham-edu", "sandwell-edu"):
            for key, r in _rows_by_key(pop, system, "pupils.csv", "pupil", "upn").items():
                if key in truth:
                    surnames[truth[key]].add(_norm(r["surname"]))
        for res in _resources(pop):
            key = f"uhb-fhir:patient:{res['id']}"
            if res["resourceType"] == "Patient" and key in truth and res.get("name"):
                surnames[truth[key]].add(_norm(res["name"][0].get("family", "")))
        return sum(
            1
            for names in surnames.values()
            if any("-" in n for n in names) and any("-" not in n for n in names)
        )

    assert counts(pops["maiden_names"]) >= 5
    assert counts(pops["maiden_names"]) > 3 * counts(pops["default"])


def _alias_cases(pop: GeneratedPopulation) -> list[dict[str, Any]]:
    return [
        s
        for s in pop.scenarios()
        if s["scenario"] == "new_partner" and s["notes"].startswith("alias variant")
    ]


def test_alias_variant_new_partner_history_under_another_surname_with_cro(
    pops: dict[str, GeneratedPopulation],
) -> None:
    pop = pops["alias_heavy"]
    truth = pop.truth()
    nominals = {
        **_rows_by_key(pop, "wmerc-pole", "nominals.csv", "nominal", "nominal_id"),
        **_rows_by_key(pop, "wmp-niche", "nominals.csv", "nominal", "nominal_id"),
    }
    involvements = csv_rows(pop.extract("wmerc-pole"), "involvements.csv")
    cs_persons = {
        **_rows_by_key(pop, "bham-cs", "persons.csv", "person", "person_id"),
        **_rows_by_key(pop, "sandwell-cs", "persons.csv", "person", "person_id"),
    }
    cases = _alias_cases(pop)
    assert len(cases) >= 5  # 80% of 10
    sides = set()
    for s in cases:
        keys = [m["record_key"] for m in s["must_connect"] if "record_key" in m]
        history = next(k for k in keys if k.startswith("wmerc-pole:nominal:"))
        home = next(k for k in keys if k.startswith("wmp-niche:nominal:"))
        partner = truth[history]
        assert truth[home] == partner != s["child_true_person_id"]
        h, w = nominals[history], nominals[home]
        # CRO number and no PNC on one side, a valid PNC id and no CRO on the other
        assert h["cro_number"].strip() and not h["pnc_id"].strip()
        assert pnc_is_valid(w["pnc_id"]) and not w["cro_number"].strip()
        # same date of birth, different address
        assert _date(h["date_of_birth"]) == _date(w["date_of_birth"])
        assert _pc(h["postcode"]) != _pc(w["postcode"])
        # the partner as children's services record him at the child's address
        cs = next(k for k in keys if ":person:" in k and truth[k] == partner)
        at_home = cs_persons[cs]
        assert _pc(at_home["postcode"]) == _pc(w["postcode"])
        assert _norm(h["surname"]) != _norm(at_home["surname"])
        # the other surname is an alias on one side or both
        h_aliases = [_norm(a) for a in h["aliases"].split(";") if a.strip()]
        w_aliases = [_norm(a) for a in w["aliases"].split(";") if a.strip()]
        on_history = any(a.endswith(" " + _norm(at_home["surname"])) for a in h_aliases)
        on_home = any(a.endswith(" " + _norm(h["surname"])) for a in w_aliases)
        assert on_history or on_home, s["id"]
        sides.add((on_history, on_home))
        # the history record is the suspect of the listed domestic-abuse occurrence
        oid = next(
            m["event_id"].split(":")[2]
            for m in s["must_connect"]
            if m.get("event_id", "").startswith("wmerc-pole:occurrence:")
        )
        suspects = {r["nominal_id"] for _, r in involvements if r["occurrence_id"] == oid} & {
            history.split(":")[2]
        }
        assert suspects
    assert len(sides) >= 2  # both sides in some cases, one side only in others


def test_default_has_no_alias_variant_and_no_cro_numbers(
    pops: dict[str, GeneratedPopulation],
) -> None:
    pop = pops["default"]
    assert not _alias_cases(pop)
    for system in POLICE:
        assert not [r for _, r in csv_rows(pop.extract(system), "nominals.csv") if r["cro_number"]]


def _forenames(pop: GeneratedPopulation) -> dict[str, set[str]]:
    truth = pop.truth()
    out: dict[str, set[str]] = defaultdict(set)
    for system, file, kind, col in (
        ("bham-edu", "pupils.csv", "pupil", "upn"),
        ("sandwell-edu", "pupils.csv", "pupil", "upn"),
        ("bham-cs", "persons.csv", "person", "person_id"),
        ("sandwell-cs", "persons.csv", "person", "person_id"),
        ("wmp-niche", "nominals.csv", "nominal", "nominal_id"),
        ("wmerc-pole", "nominals.csv", "nominal", "nominal_id"),
    ):
        for key, r in _rows_by_key(pop, system, file, kind, col).items():
            if key in truth:
                out[truth[key]].add(" ".join(r["forename"].split()))
    for res in _resources(pop):
        key = f"uhb-fhir:patient:{res['id']}"
        if res["resourceType"] == "Patient" and key in truth and res.get("name"):
            out[truth[key]].add(res["name"][0]["given"][0])
    return out


def _transliterated(pop: GeneratedPopulation) -> int:
    n = 0
    for names in _forenames(pop).values():
        titled = {x.title() for x in names}
        if any(v in titled for x in titled for v in spellings_of(x)):
            n += 1
    return n


def test_alias_heavy_spells_names_differently_by_agency(
    pops: dict[str, GeneratedPopulation],
) -> None:
    assert _transliterated(pops["alias_heavy"]) >= 5
    assert _transliterated(pops["default"]) == 0


def test_alias_heavy_relationship_labels_differ_by_agency(
    pops: dict[str, GeneratedPopulation],
) -> None:
    def labels(pop: GeneratedPopulation) -> set[str]:
        out = set()
        for res in _resources(pop):
            if res["resourceType"] == "RelatedPerson":
                rel = res["relationship"][0]
                out.add(rel.get("text") or rel["coding"][0]["code"])
        for system in ("bham-cs", "sandwell-cs"):
            out |= {
                r["relationship"] for _, r in csv_rows(pop.extract(system), "relationships.csv")
            }
        return out

    health = {"STPFTH", "step-father", "mum's boyfriend", "FAMMEMB"}
    cs = {"step_parent"}
    got = labels(pops["alias_heavy"])
    assert got & health and got & cs
    drift = health | cs
    assert not labels(pops["default"]) & drift


def _same_system_duplicates(pop: GeneratedPopulation) -> Counter[str]:
    """system:kind -> true persons with two or more keys of that kind in that system."""
    by: dict[tuple[str, str], set[str]] = defaultdict(set)
    for key, pid in pop.truth().items():
        system, kind, _ = key.split(":", 2)
        by[(f"{system}:{kind}", pid)].add(key)
    return Counter(sk for (sk, _), keys in by.items() if len(keys) > 1)


def test_migrated_systems_register_people_twice_in_one_system(
    pops: dict[str, GeneratedPopulation],
) -> None:
    dup = _same_system_duplicates(pops["migrated_systems"])
    assert dup["uhb-fhir:patient"] >= 10
    assert sum(dup[f"{s}:nominal"] for s in POLICE) >= 3
    assert dup["bham-cs:person"] + dup["sandwell-cs:person"] >= 10
    truth = pops["migrated_systems"].truth()
    assert any(":person:BCTL" in k or ":person:SCT-L" in k for k in truth)  # legacy ids
    base = _same_system_duplicates(pops["default"])
    assert base["uhb-fhir:patient"] == 0
    assert sum(base[f"{s}:nominal"] for s in POLICE) == 0


def test_lookalikes_twins_share_all_but_a_forename(pops: dict[str, GeneratedPopulation]) -> None:
    def twins(pop: GeneratedPopulation) -> list[tuple[dict, dict]]:
        pupils = {
            **_rows_by_key(pop, "bham-edu", "pupils.csv", "pupil", "upn"),
            **_rows_by_key(pop, "sandwell-edu", "pupils.csv", "pupil", "upn"),
        }
        return [
            (pupils[a], pupils[b])
            for a, b, kind in pop.hard_negatives()
            if kind == "twin" and a in pupils and b in pupils
        ]

    look = twins(pops["lookalikes"])
    assert len(look) > 2 * len(twins(pops["default"]))
    same = [
        (a, b)
        for a, b in look
        if a["middle_names"].strip()
        and _norm(a["middle_names"]) == _norm(b["middle_names"])
        and _norm(a["forename"]) != _norm(b["forename"])
        and _date(a["date_of_birth"]) == _date(b["date_of_birth"])
    ]
    assert len(same) >= 3


_SUFFIXES = ("jr", "jnr", "junior", "sr", "snr", "senior")


def _suffixed(pop: GeneratedPopulation) -> tuple[int, int]:
    """(persons of jr_sr pairs with a suffix in some record but not all, with any suffix)."""
    truth = pop.truth()
    jr_sr = {truth[k] for a, b, kind in pop.hard_negatives() if kind == "jr_sr" for k in (a, b)}
    surnames: dict[str, list[str]] = defaultdict(list)
    for system, file, kind, col in (
        ("bham-cs", "persons.csv", "person", "person_id"),
        ("sandwell-cs", "persons.csv", "person", "person_id"),
        ("wmp-niche", "nominals.csv", "nominal", "nominal_id"),
        ("wmerc-pole", "nominals.csv", "nominal", "nominal_id"),
        ("hmpps-nomis", "prisoners.csv", "prisoner", "prison_number"),
    ):
        for key, r in _rows_by_key(pop, system, file, kind, col).items():
            if truth.get(key) in jr_sr:
                surnames[truth[key]].append(_norm(r["surname"]))
    for res in _resources(pop):
        key = f"uhb-fhir:patient:{res['id']}"
        if res["resourceType"] == "Patient" and truth.get(key) in jr_sr and res.get("name"):
            surnames[truth[key]].append(_norm(res["name"][0].get("family", "")))
    flags = {pid: [s.split()[-1] in _SUFFIXES for s in names] for pid, names in surnames.items()}
    one_side = sum(1 for f in flags.values() if any(f) and not all(f))
    return one_side, sum(1 for f in flags.values() if any(f))


def test_lookalikes_jr_sr_suffix_on_one_side_only(pops: dict[str, GeneratedPopulation]) -> None:
    one_side, _ = _suffixed(pops["lookalikes"])
    assert one_side >= 3
    assert _suffixed(pops["default"]) == (0, 0)


def test_lookalikes_same_name_dob_strangers_in_one_town(
    pops: dict[str, GeneratedPopulation],
) -> None:
    def near(pop: GeneratedPopulation) -> int:
        postcodes = {
            f"uhb-fhir:patient:{r['id']}": r["address"][0]["postalCode"]
            for r in _resources(pop)
            if r["resourceType"] == "Patient" and r.get("address")
        }
        n = 0
        for a, b, kind in pop.hard_negatives():
            if kind == "same_name_dob" and a in postcodes and b in postcodes:
                da = postcodes[a].replace(" ", "").upper()[:-3]
                db = postcodes[b].replace(" ", "").upper()[:-3]
                n += da == db
        return n

    assert near(pops["lookalikes"]) >= 5
    assert near(pops["lookalikes"]) > 3 * near(pops["default"])


def _dob_disagreements(pop: GeneratedPopulation) -> int:
    """Children whose school and hospital dates of birth differ."""
    truth = pop.truth()
    school: dict[str, date | None] = {}
    for system in ("bham-edu", "sandwell-edu"):
        for key, r in _rows_by_key(pop, system, "pupils.csv", "pupil", "upn").items():
            if key in truth:
                school[truth[key]] = _date(r["date_of_birth"])
    n = 0
    for res in _resources(pop):
        key = f"uhb-fhir:patient:{res['id']}"
        if res["resourceType"] == "Patient" and truth.get(key) in school and "birthDate" in res:
            n += school[truth[key]] != date.fromisoformat(res["birthDate"])
    return n


def test_messy_dates_disagree_on_dates_of_birth(pops: dict[str, GeneratedPopulation]) -> None:
    messy = _dob_disagreements(pops["messy_dates"])
    assert messy >= 20
    assert messy > 3 * _dob_disagreements(pops["default"])


def _postcodes_outside_health(pop: GeneratedPopulation) -> float:
    """Share of people recorded at more than one postcode outside health."""
    truth = pop.truth()
    pcs: dict[str, set[str]] = defaultdict(set)
    for system, file, kind, col in (
        ("bham-edu", "contacts.csv", "contact", "contact_id"),
        ("sandwell-edu", "contacts.csv", "contact", "contact_id"),
        ("bham-cs", "persons.csv", "person", "person_id"),
        ("sandwell-cs", "persons.csv", "person", "person_id"),
        ("wmp-niche", "nominals.csv", "nominal", "nominal_id"),
        ("wmerc-pole", "nominals.csv", "nominal", "nominal_id"),
    ):
        for key, r in _rows_by_key(pop, system, file, kind, col).items():
            if key in truth and r["postcode"].strip():
                pcs[truth[key]].add(r["postcode"].replace(" ", "").upper())
    return sum(len(v) > 1 for v in pcs.values()) / len(pcs)


def test_stale_addresses_at_several_agencies(pops: dict[str, GeneratedPopulation]) -> None:
    stale = _postcodes_outside_health(pops["stale_addresses"])
    assert stale > 1.5 * _postcodes_outside_health(pops["default"])


# -- the command line ---------------------------------------------------------------
def test_cli_lists_profiles_and_generates_one(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cpgraph.cli import app

    runner = CliRunner()
    listed = runner.invoke(app, ["generate", "--list-profiles"], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    for name in PROFILES:
        assert name in listed.output
    bad = runner.invoke(app, ["generate", "--out", str(tmp_path / "x"), "--profile", "nope"])
    assert bad.exit_code == 2 and not (tmp_path / "x").exists()
    out = tmp_path / "gen"
    ok = runner.invoke(
        app, ["generate", "--out", str(out), "--households", "12", "--profile", "lookalikes"]
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads((out / "generate.json").read_text(encoding="utf-8"))["profile"] == (
        "lookalikes"
    )


def test_every_non_default_profile_has_within_system_duplicates(
    pops: dict[str, GeneratedPopulation],
) -> None:
    """Real indexes hold duplicates (issue #19): each profile but ``default`` plants some,
    a migrated system the most."""
    for name, prof in PROFILES.items():
        if name == "default":
            continue
        assert 0.02 <= prof.within_system_duplicates <= 0.08, name
        assert _same_system_duplicates(pops[name])["uhb-fhir:patient"] >= 1, name
    assert PROFILES["migrated_systems"].within_system_duplicates == max(
        p.within_system_duplicates for p in PROFILES.values()
    )


def test_rates_can_be_overridden_by_name(tmp_path: Path) -> None:
    from cpgraph.generate.profile import with_rates

    base = get_profile("migrated_systems")
    more = with_rates(base, {"within_system_duplicates": "0.3"})
    assert more.within_system_duplicates == 0.3 and more.name == "migrated_systems+custom"
    assert with_rates(base, {}) is base
    with pytest.raises(ValueError, match="did you mean 'within_system_duplicates'"):
        with_rates(base, {"within_system_duplicate": "0.1"})
    with pytest.raises(ValueError, match="must be a number"):
        with_rates(base, {"within_system_duplicates": "lots"})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        with_rates(base, {"within_system_duplicates": "1.5"})
    # the rate is what the generator draws against: more duplicates at a higher rate
    counts = []
    for rate in ("0.0", "0.3"):
        root = tmp_path / rate
        generate(root, 60, 4, profile=with_rates(base, {"within_system_duplicates": rate}))
        counts.append(_same_system_duplicates(GeneratedPopulation(root, None))["uhb-fhir:patient"])
    assert counts[1] > counts[0] + 5
    recorded = json.loads((tmp_path / "0.3" / "generate.json").read_text(encoding="utf-8"))
    assert recorded["parameters"]["within_system_duplicates"] == 0.3


def test_mixed_profile_has_every_behaviour_the_others_move_between_default_and_them() -> None:
    """``mixed`` is the never-tuned profile: each rate another profile moves is moved here
    too, the same way, strictly between ``default`` and the furthest profile."""
    mixed = PROFILES["mixed"]
    assert mixed.role == "held_out"
    moved: dict[str, list[float]] = defaultdict(list)
    for name, prof in PROFILES.items():
        if name not in ("default", "mixed"):
            for key, value in prof.changed().items():
                moved[key].append(value)
    assert set(mixed.changed()) == set(moved)
    for key, values in moved.items():
        base, got = getattr(DEFAULT, key), getattr(mixed, key)
        far = max(values, key=lambda v: abs(v - base))
        assert min(base, far) < got < max(base, far), key


def test_mixed_profile_shows_each_family_of_behaviour(
    pops: dict[str, GeneratedPopulation],
) -> None:
    mixed = pops["mixed"]
    assert _same_system_duplicates(mixed)["uhb-fhir:patient"] >= 1
    assert _surname_disagreements(mixed) > _surname_disagreements(pops["default"])


def test_one_given_name_ties_spellings_and_nicknames_both_ways() -> None:
    assert one_given_name("Mohammed", "Muhammad") and one_given_name("Muhammad", "Mohammed")
    assert one_given_name("Linda", "Lynn") and one_given_name("Lynn", "Linda")
    assert one_given_name("John", "Ian")  # one name in two languages
    assert one_given_name("Sam", "Sam")
    assert not one_given_name("Sarah", "Alison")
    assert not one_given_name("Jack", "Jason")


@pytest.mark.parametrize("profile", ["lookalikes", "mixed"])
def test_twins_get_two_names_not_two_forms_of_one(profile: str) -> None:
    """A family names twins Muhammad and Bilal, never Mohammed and Muhammad."""
    builder = PopulationBuilder(SEED, Ids(SEED), get_profile(profile))
    twins = []
    for i in range(3000):
        unit = builder.unit(i, "background", random.Random(f"{SEED}/unit/{i}"))
        twins += [(a, b) for a, b, kind in unit.lookalikes if kind == "twin"]
    assert len(twins) > 100
    assert not [
        (a.forename, b.forename) for a, b in twins if one_given_name(a.forename, b.forename)
    ]
