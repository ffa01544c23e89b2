"""Tests of the synthetic population generator against the data contract."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from stdnum.gb import nhs, upn

from cpgraph.contract import validate_extract
from cpgraph.contract.spec import CSV_FILES
from cpgraph.generate import SYSTEMS, generate, scenario_schedule
from tests.factories import GeneratedPopulation, make_population
from tests.unit.generate.mentions import csv_rows, loadable_mentions, read_manifest

AGENCIES_SEEN = {"police", "health", "education", "childrens_services", "prisons"}


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_writes_every_system_with_a_valid_manifest(population: GeneratedPopulation) -> None:
    agencies = {}
    for folder in population.extracts():
        m = read_manifest(folder)
        assert m["system"] == folder.name
        agencies.setdefault(m["agency"], set()).add(m["system"])
        assert m["extracted_at"] == "2026-11-01T02:00:00Z"
    assert set(agencies) == AGENCIES_SEEN
    assert len(agencies["police"]) >= 2 and len(agencies["education"]) >= 2
    assert len(agencies["childrens_services"]) >= 2
    orgs = {read_manifest(population.extract(s))["organisation"] for s in agencies["police"]}
    assert len(orgs) == len(agencies["police"])  # two different forces


def test_validator_reports_exactly_the_expected_quarantine(population: GeneratedPopulation) -> None:
    expected = population.quarantine_expected()
    assert expected, "an error rate of 5% must corrupt something"
    got = {
        (p.system, p.file, p.line)
        for folder in population.extracts()
        for p in validate_extract(folder)
        if p.severity == "error"
    }
    assert got == expected


def test_quarantine_covers_every_row_error_kind(population: GeneratedPopulation) -> None:
    codes = {
        p.code
        for folder in population.extracts()
        for p in validate_extract(folder)
        if p.severity == "error"
    }
    assert {
        "missing_required",
        "too_many_fields",
        "unknown_reference",
        "invalid_resource",
        "truncated_row",  # the generator's half-written bundle (not JSON)
        "not_bundle",
    } <= codes


def test_quarantined_lines_are_where_the_file_says(population: GeneratedPopulation) -> None:
    for system, file, line in population.quarantine_expected():
        folder = population.extract(system)
        if file.startswith("bundles/"):
            text = (folder / file).read_text(encoding="utf-8")
            if line == 0:
                try:
                    data = json.loads(text)
                except ValueError:
                    continue
                assert data.get("resourceType") != "Bundle"
            else:
                entries = json.loads(text)["entry"]
                assert 1 <= line <= len(entries)
            continue
        starts = {ln for ln, _ in csv_rows(folder, file)}
        assert line in starts, (system, file, line)
        assert line >= 2


def test_truth_lists_exactly_the_loadable_mentions(population: GeneratedPopulation) -> None:
    truth = population.truth()
    found: set[str] = set()
    for folder in population.extracts():
        found |= loadable_mentions(folder)
    assert set(truth) == found
    assert len(set(truth.values())) == population.summary.persons
    assert len(truth) == population.summary.loadable_mentions


def test_corrupted_person_rows_are_not_in_truth(population: GeneratedPopulation) -> None:
    truth = population.truth()
    checked = 0
    for system, file, line in population.quarantine_expected():
        agency = SYSTEMS[system][0]
        spec = next((s for s in CSV_FILES[agency] if s.name == file), None)
        if spec is None or spec.kind is None or spec.repeated_ids:
            continue
        row = dict(csv_rows(population.extract(system), file))[line]
        lid = row.get(spec.id_column or "", "").strip()
        lid = lid.upper() if spec.upper_id else lid
        assert f"{system}:{spec.kind}:{lid}" not in truth
        checked += 1
    assert checked > 0


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", households=12, seed=3)
    generate(tmp_path / "b", households=12, seed=3)
    generate(tmp_path / "c", households=12, seed=4)
    da, db, dc = _digest(tmp_path / "a"), _digest(tmp_path / "b"), _digest(tmp_path / "c")
    assert da == db
    assert da != dc
    assert a.person_mentions > 0


def test_progress_is_reported_to_the_end(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate(tmp_path, households=9, seed=1, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (9, 9)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_zero_error_rate_quarantines_nothing(tmp_path: Path) -> None:
    pop = make_population(tmp_path, households=15, seed=2, error_rate=0.0)
    assert pop.quarantine_expected() == set()
    assert not [p for f in pop.extracts() for p in validate_extract(f) if p.severity == "error"]


def test_schedule_has_every_scenario_several_times() -> None:
    s = scenario_schedule(300, 1)
    for name in ("new_partner", "relative_concerns", "prisoner_family", "control"):
        assert s.count(name) == 10
    assert scenario_schedule(300, 1) == s and scenario_schedule(300, 2) != s


def test_identifiers_are_mostly_valid(population: GeneratedPopulation) -> None:
    pupils = csv_rows(population.extract("bham-edu"), "pupils.csv")
    pupils += csv_rows(population.extract("sandwell-edu"), "pupils.csv")
    upns = [r["upn"] for _, r in pupils if r["upn"].strip()]
    assert upns and sum(upn.is_valid(u) for u in upns) / len(upns) > 0.95
    nhs_numbers = []
    for bundle in sorted((population.extract("uhb-fhir") / "bundles").glob("*.json")):
        try:
            data = json.loads(bundle.read_text(encoding="utf-8"))
        except ValueError:
            continue
        for e in data.get("entry", []):
            for ident in e["resource"].get("identifier", []):
                nhs_numbers.append(ident["value"])
    assert len(nhs_numbers) > 50
    valid = sum(nhs.is_valid(n) for n in nhs_numbers) / len(nhs_numbers)
    assert 0.9 < valid <= 1.0


def test_hard_negatives_are_different_people(tmp_path: Path) -> None:
    pop = make_population(tmp_path, households=250, seed=8, error_rate=0.0)
    truth = pop.truth()
    negs = pop.hard_negatives()
    kinds = {k for _, _, k in negs}
    assert kinds <= {"twin", "jr_sr", "same_name_dob"}
    assert {"twin", "jr_sr", "same_name_dob"} <= kinds
    for a, b, _ in negs:
        assert truth[a] != truth[b]


def test_scenarios_are_listed_and_connectable(population: GeneratedPopulation) -> None:
    truth = population.truth()
    scenarios = population.scenarios()
    counts = {s["scenario"] for s in scenarios}
    assert counts == {"new_partner", "relative_concerns", "prisoner_family", "control"}
    for s in scenarios:
        assert s["child_record_keys"], s["id"]
        assert {truth[k] for k in s["child_record_keys"]} == {s["child_true_person_id"]}
        assert s["must_connect"], s["id"]
        for m in s["must_connect"]:
            assert ("record_key" in m) != ("event_id" in m)
            if "record_key" in m:
                assert m["record_key"] in truth


def _occurrences(pop: GeneratedPopulation, system: str) -> dict[str, dict[str, str]]:
    return {r["occurrence_id"]: r for _, r in csv_rows(pop.extract(system), "occurrences.csv")}


def test_new_partner_history_is_in_another_force(population: GeneratedPopulation) -> None:
    truth = population.truth()
    cases = [s for s in population.scenarios() if s["scenario"] == "new_partner"]
    assert cases
    for s in cases:
        # the household is policed by West Midlands (its children are in bham/sandwell)
        child_systems = {k.split(":")[0] for k in s["child_record_keys"]}
        assert child_systems & {"bham-edu", "sandwell-edu"}
        da = [
            m["event_id"]
            for m in s["must_connect"]
            if "event_id" in m and m["event_id"].split(":")[1] == "occurrence"
        ]
        assert da
        system, _, oid = da[0].split(":")
        assert system == "wmerc-pole"
        assert _occurrences(population, system)[oid]["occurrence_type"] == "domestic_abuse"
        suspects = [
            r["nominal_id"]
            for _, r in csv_rows(population.extract(system), "involvements.csv")
            if r["occurrence_id"] == oid and r["role"] == "suspect"
        ]
        partner = truth[f"{system}:nominal:{suspects[0]}"]
        # the same human lives with the child according to children's services
        cs = next(k.split(":")[0] for k in s["child_record_keys"] if ":person:" in k)
        child_cs = next(k.split(":")[2] for k in s["child_record_keys"] if ":person:" in k)
        partner_ids = {
            k.split(":")[2]
            for k, v in truth.items()
            if v == partner and k.startswith(f"{cs}:person:")
        }
        rels = [
            r
            for _, r in csv_rows(population.extract(cs), "relationships.csv")
            if r["person_id"] == child_cs and r["related_person_id"] in partner_ids
        ]
        assert rels and rels[0]["relationship"] == "partner_of_parent"
        # and West Midlands Police do not know him
        assert not [k for k, v in truth.items() if v == partner and k.startswith("wmp-niche:")]


def test_relative_concerns_facts(population: GeneratedPopulation) -> None:
    truth = population.truth()
    cases = [s for s in population.scenarios() if s["scenario"] == "relative_concerns"]
    assert cases
    for s in cases:
        events = [m["event_id"] for m in s["must_connect"] if "event_id" in m]
        refs = [e for e in events if ":referral:" in e]
        assert len(refs) >= 2
        cs = refs[0].split(":")[0]
        rows = {r["referral_id"]: r for _, r in csv_rows(population.extract(cs), "referrals.csv")}
        referrers = set()
        for e in refs:
            r = rows[e.split(":")[2]]
            assert r["source"] == "1A" and r["outcome"] == "no_further_action"
            assert r["referrer_name"].strip()
            if r["referrer_person_id"]:
                referrers.add(truth[f"{cs}:person:{r['referrer_person_id']}"])
        assert len(referrers) == 1
        relative = referrers.pop()
        assert relative != s["child_true_person_id"]
        concern = next(e for e in events if ":school_concern:" in e)
        esys, _, cid = concern.split(":")
        c = {r["concern_id"]: r for _, r in csv_rows(population.extract(esys), "concerns.csv")}
        assert c[cid]["raised_by_role"] == "relative"
        assert truth[f"{esys}:contact:{c[cid]['raised_by_contact_id']}"] == relative
        assert any(":encounter:" in e for e in events)


def test_prisoner_family_facts(population: GeneratedPopulation) -> None:
    truth = population.truth()
    cases = [s for s in population.scenarios() if s["scenario"] == "prisoner_family"]
    assert cases
    prisoners = {
        r["prison_number"]: r
        for _, r in csv_rows(population.extract("hmpps-nomis"), "prisoners.csv")
    }
    for s in cases:
        keys = [m["record_key"] for m in s["must_connect"] if "record_key" in m]
        pkey = next(k for k in keys if ":prisoner:" in k)
        assert truth[pkey] != s["child_true_person_id"]
        visitor = next(k for k in keys if ":visitor:" in k)
        assert truth[visitor] == s["child_true_person_id"]
        assert visitor in s["child_record_keys"]
        assert prisoners[pkey.split(":")[2]]["release_date"]


def test_control_children_have_no_concerns(population: GeneratedPopulation) -> None:
    cases = [s for s in population.scenarios() if s["scenario"] == "control"]
    assert cases
    for s in cases:
        systems = {k.split(":")[0] for k in s["child_record_keys"]}
        assert not systems & {"wmp-niche", "wmerc-pole", "bham-cs", "sandwell-cs"}
        assert systems & {"bham-edu", "sandwell-edu"}


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_each_system_has_person_mentions(population: GeneratedPopulation, system: str) -> None:
    assert population.summary.mentions.get(system, 0) > 0
