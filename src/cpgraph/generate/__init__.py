"""Synthetic cross-agency population generator.

``generate(out, households, seed)`` writes one extract folder per source system
(formats: ``docs/extracts.md``) plus the evaluation truth beside
them: ``truth.csv``, ``quarantine_expected.csv``, ``hard_negatives.csv``,
``scenarios.json`` and ``generate.json`` (the profile and parameters used). Same
seed and profile, same bytes. Family units are generated and written one at a
time, so memory stays flat at any size. A :class:`GeneratorProfile`
(``profile=``, ``cpgraph generate --profile NAME``) sets how people behave and
agencies record them; ``default`` is the generator's original behaviour.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpgraph.contract.spec import CSV_FILES, FileSpec, file_spec
from cpgraph.generate.agencies import HEALTH, SYSTEMS, Agencies, Out
from cpgraph.generate.ids import Ids
from cpgraph.generate.population import (
    BACKGROUND,
    EXTRACTED_AT,
    SCENARIOS,
    PopulationBuilder,
    Unit,
)
from cpgraph.generate.profile import DEFAULT, PROFILES, GeneratorProfile, get_profile
from cpgraph.generate.sinks import (
    BundleSink,
    CsvSink,
    corrupt_resource,
    corrupt_row,
    warn_row,
)
from cpgraph.generate.styles import EXPORT_STYLES, restyle_csv

__all__ = [
    "EXPORT_STYLES",
    "PROFILES",
    "SYSTEMS",
    "GenerateSummary",
    "GeneratorProfile",
    "generate",
    "get_profile",
    "scenario_schedule",
]


@dataclass
class GenerateSummary:
    """What :func:`generate` wrote.

    Attributes:
        out: The output folder.
        households: Family units generated (each starts as one household).
        seed: The seed used.
        error_rate: Requested share of corrupted rows.
        profile: Name of the generator profile used.
        rows: system -> file -> rows written (FHIR: entries, under ``bundles``).
        mentions: system -> person mentions written (loadable or not).
        person_mentions: Person mentions written in total.
        loadable_mentions: Person mentions in ``truth.csv``.
        persons: Distinct true persons in ``truth.csv``.
        quarantined: Rows/entries/files listed in ``quarantine_expected.csv``.
        hard_negatives: Pairs in ``hard_negatives.csv``.
        scenarios: scenario -> count in ``scenarios.json``.
        files_written: Every file written, relative to ``out``.
    """

    out: Path
    households: int
    seed: int
    error_rate: float
    profile: str = DEFAULT.name
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    mentions: dict[str, int] = field(default_factory=dict)
    person_mentions: int = 0
    loadable_mentions: int = 0
    persons: int = 0
    quarantined: int = 0
    hard_negatives: int = 0
    scenarios: dict[str, int] = field(default_factory=dict)
    files_written: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scenario_schedule(households: int, seed: int) -> list[str]:
    """Assign a scenario (or ``background``) to each family unit, deterministically.

    Each of the four scenarios gets ``max(2, households // 30)`` units (fewer when
    there are fewer than eight units), spread at random over the run.
    """
    each = max(2, households // 30) if households >= 8 else households // 4
    labels = [s for s in SCENARIOS for _ in range(each)]
    labels += [BACKGROUND] * (households - len(labels))
    random.Random(f"{seed}/schedule").shuffle(labels)
    return labels


class _Run:
    def __init__(
        self,
        out: Path,
        seed: int,
        error_rate: float,
        summary: GenerateSummary,
        profile: GeneratorProfile = DEFAULT,
        export_style: str = "contract",
    ):
        self.out, self.seed, self.error_rate, self.summary = out, seed, error_rate, summary
        self.profile = profile
        self.export_style = export_style
        self.csv: dict[tuple[str, str], CsvSink] = {}
        out.mkdir(parents=True, exist_ok=True)
        for system, (agency, org, _) in SYSTEMS.items():
            folder = out / system
            folder.mkdir(exist_ok=True)
            manifest = {
                "agency": agency,
                "system": system,
                "organisation": org,
                "extracted_at": EXTRACTED_AT,
            }
            (folder / "manifest.json").write_text(
                json.dumps(manifest, indent=2) + "\n", encoding="utf-8"
            )
            summary.files_written.append(f"{system}/manifest.json")
            for spec in CSV_FILES[agency]:
                self.csv[(system, spec.name)] = CsvSink(folder / spec.name, spec)
                summary.files_written.append(f"{system}/{spec.name}")
        self.bundles = BundleSink(out / HEALTH / "bundles", EXTRACTED_AT)
        self.truth_fh = (out / "truth.csv").open("w", encoding="utf-8", newline="")
        self.truth = csv.writer(self.truth_fh, lineterminator="\n")
        self.truth.writerow(["record_key", "true_person_id"])
        self.quar_fh = (out / "quarantine_expected.csv").open("w", encoding="utf-8", newline="")
        self.quar = csv.writer(self.quar_fh, lineterminator="\n")
        self.quar.writerow(["system", "file", "line"])
        self.neg_fh = (out / "hard_negatives.csv").open("w", encoding="utf-8", newline="")
        self.neg = csv.writer(self.neg_fh, lineterminator="\n")
        self.neg.writerow(["record_key_a", "record_key_b", "kind"])
        self.scenarios: list[dict[str, Any]] = []
        self.debt = 0.0

    def _should_corrupt(self, eligible: bool, crng: random.Random) -> bool:
        self.debt = min(self.debt + self.error_rate, 25.0)
        if eligible and self.debt >= 1.0 and crng.random() < 0.5:
            self.debt -= 1.0
            return True
        return False

    def write_unit(self, u: Unit, o: Out) -> None:
        crng = random.Random(f"{self.seed}/corrupt/{u.index}")
        protected_unit = u.scenario != BACKGROUND
        # ids referenced by other rows of the unit must stay loadable
        referenced: set[tuple[str, str, str]] = set()
        for system, file, values, _, _ in o.rows:
            spec = file_spec(SYSTEMS[system][0], file)
            for ref in spec.refs:
                v = values.get(ref.column, "").strip()
                if v:
                    referenced.add(
                        (system, ref.target_file, v.upper() if ref.column == "upn" else v)
                    )
        loadable: dict[str, str] = {}
        unloadable: dict[str, str] = {}
        s = self.summary
        for system, file, values, key, pid in o.rows:
            spec: FileSpec = file_spec(SYSTEMS[system][0], file)
            fields = [values.get(c, "") for c in spec.columns]
            own = ""
            if spec.id_column:
                own = values.get(spec.id_column, "").strip()
                if spec.upper_id:
                    own = own.upper()
            eligible = not protected_unit and (system, file, own) not in referenced
            bad = self._should_corrupt(eligible, crng)
            if bad:
                fields, _ = corrupt_row(fields, spec, crng)
            elif eligible and crng.random() < self.error_rate / 4:
                fields = warn_row(fields, spec, crng)
            line = self.csv[(system, file)].write(fields)
            if bad:
                self.quar.writerow([system, file, line])
                s.quarantined += 1
            if key is not None and pid is not None:
                if bad:
                    unloadable.setdefault(key, pid)
                else:
                    loadable.setdefault(key, pid)
        refs: set[str] = set()
        for res, _, _ in o.entries:
            for fld in ("patient", "subject"):
                if fld in res:
                    refs.add(res[fld]["reference"])
            for part in res.get("participant", []):
                refs.add(part["individual"]["reference"])
        for res, key, pid in o.entries:
            eligible = not protected_unit and f"{res['resourceType']}/{res['id']}" not in refs
            bad = self._should_corrupt(eligible, crng)
            file, index = self.bundles.add(corrupt_resource(res, crng) if bad else res, bad)
            if bad:
                self.quar.writerow([HEALTH, file, index])
                s.quarantined += 1
            if key is not None and pid is not None:
                (unloadable if bad else loadable).setdefault(key, pid)
        self.bundles.flush_if_full()
        # truth: a mention is loadable if any of its rows is (visitors span many rows)
        by_pid: dict[str, list[str]] = {}
        for key, pid in loadable.items():
            self.truth.writerow([key, pid])
            by_pid.setdefault(pid, []).append(key)
        for key in set(unloadable) | set(loadable):
            system = key.split(":", 1)[0]
            s.mentions[system] = s.mentions.get(system, 0) + 1
        s.person_mentions += len(set(unloadable) | set(loadable))
        s.loadable_mentions += len(loadable)
        s.persons += len(by_pid)
        self._hard_negatives(u, by_pid)
        if u.scenario != BACKGROUND:
            self._scenario(u, o, loadable, by_pid)

    def _hard_negatives(self, u: Unit, by_pid: dict[str, list[str]]) -> None:
        for a, b, kind in u.lookalikes:
            ka, kb = by_pid.get(a.pid, []), by_pid.get(b.pid, [])
            if not ka or not kb:
                continue
            pairs: list[tuple[str, str]] = []
            first_b: dict[str, str] = {}
            for k in kb:
                first_b.setdefault(k.split(":", 1)[0], k)
            seen_sys: set[str] = set()
            for k in ka:
                sys_a = k.split(":", 1)[0]
                if sys_a in first_b and sys_a not in seen_sys:
                    pairs.append((k, first_b[sys_a]))
                    seen_sys.add(sys_a)
            if ka[0].split(":", 1)[0] != kb[0].split(":", 1)[0]:
                pairs.append((ka[0], kb[0]))
            for pa, pb in pairs:
                self.neg.writerow([pa, pb, kind])
                self.summary.hard_negatives += 1

    def _scenario(
        self, u: Unit, o: Out, loadable: dict[str, str], by_pid: dict[str, list[str]]
    ) -> None:
        n = self.summary.scenarios.get(u.scenario, 0) + 1
        self.summary.scenarios[u.scenario] = n
        must: list[dict[str, str]] = []
        seen: set[str] = set()
        for f in o.facts:
            if f.ref in seen or (not f.is_event and f.ref not in loadable):
                continue
            seen.add(f.ref)
            must.append({"event_id" if f.is_event else "record_key": f.ref, "why": f.why})
        self.scenarios.append(
            {
                "id": f"{u.scenario}-{n:04d}",
                "scenario": u.scenario,
                "unit": u.index,
                "child_true_person_id": u.index_child.pid,
                "child_record_keys": by_pid.get(u.index_child.pid, []),
                "must_connect": must,
                "notes": "; ".join(o.notes),
            }
        )

    def broken_bundles(self) -> None:
        """Write one non-JSON bundle and one JSON file that is not a Bundle."""
        patient = {
            "resourceType": "Patient",
            "id": "pat-broken-1",
            "name": [{"family": "Example", "given": ["Pat"]}],
        }
        text = json.dumps(
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}]},
            separators=(",", ":"),
        )
        name = self.bundles.write_raw(text[: len(text) // 2])  # truncated: not JSON
        self.quar.writerow([HEALTH, name, 0])
        name = self.bundles.write_raw(json.dumps(patient, separators=(",", ":")))  # not a Bundle
        self.quar.writerow([HEALTH, name, 0])
        self.summary.quarantined += 2

    def declare_files(self) -> None:
        """List every file with its rows and SHA-256 in its manifest (the loader checks them).

        A broken bundle file (not JSON, not a Bundle) gets its digest only: it is meant to
        be quarantined, not refused.
        """
        declared: dict[str, list[dict[str, Any]]] = {system: [] for system in SYSTEMS}
        for (system, file), sink in self.csv.items():
            declared[system].append(
                {"name": file, "rows": sink.rows, "sha256": _sha256(self.out / system / file)}
            )
        for name in self.bundles.written:
            item: dict[str, Any] = {"name": name}
            if name in self.bundles.resources:
                item["rows"] = self.bundles.resources[name]
            item["sha256"] = _sha256(self.out / HEALTH / name)
            declared[HEALTH].append(item)
        for system, files in declared.items():
            path = self.out / system / "manifest.json"
            manifest = json.loads(path.read_text(encoding="utf-8"))
            manifest["files"] = sorted(files, key=lambda f: f["name"])
            path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    def close(self) -> None:
        self.bundles.flush()
        if self.error_rate > 0:
            self.broken_bundles()
        s = self.summary
        for (system, file), sink in self.csv.items():
            sink.close()
            s.rows.setdefault(system, {})[file] = sink.rows
        s.rows.setdefault(HEALTH, {})["bundles"] = self.bundles.entries
        s.files_written += [f"{HEALTH}/{n}" for n in self.bundles.written]
        if self.export_style == "varied":
            for (system, file), sink in self.csv.items():
                # a stream of its own: the population is the same in every style
                stream = random.Random(f"{self.seed}/style/{system}/{file}")
                restyle_csv(sink.path, sink.spec, stream)
        self.declare_files()
        for fh in (self.truth_fh, self.quar_fh, self.neg_fh):
            fh.close()
        (self.out / "scenarios.json").write_text(
            json.dumps(self.scenarios, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        # what produced this population (a file of its own: the other files stay exactly
        # what the generator wrote before profiles existed)
        meta = {
            "profile": self.profile.name,
            "role": self.profile.role,
            "description": self.profile.description,
            "households": s.households,
            "seed": self.seed,
            "error_rate": self.error_rate,
            "parameters": self.profile.rates(),
        }
        if self.export_style != "contract":
            meta["export_style"] = self.export_style
        (self.out / "generate.json").write_text(
            json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        s.files_written += [
            "truth.csv",
            "quarantine_expected.csv",
            "hard_negatives.csv",
            "scenarios.json",
            "generate.json",
        ]


def generate(
    out: Path,
    households: int,
    seed: int,
    error_rate: float = 0.02,
    progress: Callable[[int, int], None] | None = None,
    profile: GeneratorProfile | str = DEFAULT,
    export_style: str = "contract",
) -> GenerateSummary:
    """Generate a synthetic cross-agency population as extract folders.

    Args:
        out: Output folder (created). One sub-folder per source system, plus
            ``truth.csv``, ``quarantine_expected.csv``, ``hard_negatives.csv``,
            ``scenarios.json``. Existing files of the same names are overwritten.
        households: Number of family units to generate (about 10 person mentions each).
        seed: Random seed; the same seed gives byte-identical output.
        error_rate: Share of rows/resources corrupted into contract row errors
            (applied to rows whose loss cannot leave dangling references).
        progress: Called as ``progress(done, total)`` every 1% of family units.
        profile: A :class:`GeneratorProfile` or the name of a built-in one
            (:data:`PROFILES`); ``default`` reproduces the original generator byte for byte.
        export_style: ``contract`` (the generator's own way of writing extracts) or
            ``varied`` (the same rows written as other exports write them: see
            :mod:`cpgraph.generate.styles`).

    Returns:
        A :class:`GenerateSummary` of what was written.

    Raises:
        ValueError: If ``profile`` names no built-in profile, or ``export_style`` no style.
    """
    if export_style not in EXPORT_STYLES:
        raise ValueError(f"unknown export style {export_style!r}; one of {EXPORT_STYLES}")
    out = Path(out)
    prof = get_profile(profile) if isinstance(profile, str) else profile
    summary = GenerateSummary(
        out=out, households=households, seed=seed, error_rate=error_rate, profile=prof.name
    )
    ids = Ids(seed)
    builder = PopulationBuilder(seed, ids, prof)
    agencies = Agencies(ids, prof, seed)
    run = _Run(out, seed, error_rate, summary, prof, export_style)
    schedule = scenario_schedule(households, seed)
    step = max(1, households // 100)
    try:
        for i, scenario in enumerate(schedule):
            rng = random.Random(f"{seed}/unit/{i}")
            # profile-only behaviours draw from streams of their own (never shifting ``rng``)
            xp = random.Random(f"{seed}/profile-pop/{i}")
            xa = random.Random(f"{seed}/profile-rec/{i}")
            unit = builder.unit(i, scenario, rng, xp)
            run.write_unit(unit, agencies.emit(unit, rng, xa))
            if progress is not None and ((i + 1) % step == 0 or i + 1 == households):
                progress(i + 1, households)
    finally:
        run.close()
    return summary
