"""Test factories: generate a small synthetic population into a temporary folder.

Usage from any test suite::

    from tests.factories import make_population

    pop = make_population(tmp_path, households=30, seed=1)
    pop.extract("wmp-niche")        # Path of one extract folder
    pop.truth()                     # {record_key: true_person_id}
    pop.quarantine_expected()       # {(system, file, line)}
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpgraph.generate import SYSTEMS, GenerateSummary, generate


@dataclass
class GeneratedPopulation:
    """A generated population on disk with helpers to read its truth files."""

    root: Path
    summary: GenerateSummary

    def extract(self, system: str) -> Path:
        """The extract folder of one source system."""
        return self.root / system

    def extracts(self) -> list[Path]:
        """Every extract folder, in a stable order."""
        return [self.root / s for s in sorted(SYSTEMS)]

    def truth(self) -> dict[str, str]:
        """``truth.csv`` as {record_key: true_person_id}."""
        with (self.root / "truth.csv").open(encoding="utf-8", newline="") as fh:
            return {r["record_key"]: r["true_person_id"] for r in csv.DictReader(fh)}

    def quarantine_expected(self) -> set[tuple[str, str, int]]:
        """``quarantine_expected.csv`` as a set of (system, file, line)."""
        with (self.root / "quarantine_expected.csv").open(encoding="utf-8", newline="") as fh:
            return {(r["system"], r["file"], int(r["line"])) for r in csv.DictReader(fh)}

    def hard_negatives(self) -> list[tuple[str, str, str]]:
        """``hard_negatives.csv`` rows as (record_key_a, record_key_b, kind)."""
        with (self.root / "hard_negatives.csv").open(encoding="utf-8", newline="") as fh:
            return [(r["record_key_a"], r["record_key_b"], r["kind"]) for r in csv.DictReader(fh)]

    def scenarios(self) -> list[dict[str, Any]]:
        """``scenarios.json`` entries."""
        return json.loads((self.root / "scenarios.json").read_text(encoding="utf-8"))


def make_population(
    path: Path,
    households: int = 30,
    seed: int = 1,
    error_rate: float = 0.02,
    profile: str = "default",
    export_style: str = "contract",
) -> GeneratedPopulation:
    """Generate a population into ``path`` (e.g. pytest's ``tmp_path``).

    Args:
        path: Output folder (created).
        households: Family units (about 11 person mentions each).
        seed: Random seed.
        error_rate: Share of rows corrupted on purpose.
        profile: Generator profile (``cpgraph generate --list-profiles``).
        export_style: How the CSV extracts are written (``cpgraph.generate.styles``).
    """
    summary = generate(
        Path(path),
        households=households,
        seed=seed,
        error_rate=error_rate,
        profile=profile,
        export_style=export_style,
    )
    return GeneratedPopulation(Path(path), summary)


def undeclare_files(folder: Path) -> None:
    """Drop the manifest's ``files`` list (rows and SHA-256 per file) of a copied extract.

    Tests that edit a generated extract's files do what a source system re-exporting
    the data would: the edited extract no longer claims the generator's digests.
    """
    path = Path(folder) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.pop("files", None)
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


# Settings for an app whose tests drive one token far past the default rate limit
# (20 requests/s, bursts of 40): raised explicitly, the default stays as shipped.
UNTHROTTLED: dict[str, Any] = {"api_rate_limit_per_s": 10_000.0, "api_rate_limit_burst": 10_000}
