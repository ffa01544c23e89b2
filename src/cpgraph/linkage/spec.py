"""Load and validate the linkage specification (a versioned TOML file)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SPEC_PATH = Path(__file__).parent / "spec" / "default.toml"
SUPPORTED_VERSIONS = {"1", "2", "3", "4", "5", "6", "7", "8"}

# Levels each comparison kind understands; `else` and `missing` are implicit.
KIND_LEVELS: dict[str, tuple[str, ...]] = {
    "name": ("exact", "nickname", "jw", "initial", "part", "lev"),
    "string": ("exact", "jw", "lev", "token_set", "initial"),
    "date": ("exact", "swap_dm", "lev", "year_off1", "month_year", "years"),
    "postcode_uk": ("exact", "sector", "district"),
    "category": ("exact",),
    "identifier": ("exact", "lev"),
}
NAME_ROLES = ("fn", "mn", "sn")
_LEVEL_RE = re.compile(r"^(?P<op>[a-z_0-9]+?)(?:(?:>=|<=)(?P<arg>[0-9.]+))?$")


class SpecError(ValueError):
    """The linkage specification is malformed."""


@dataclass(frozen=True)
class Level:
    """One comparison level, e.g. ``jw>=0.92`` → op ``jw``, arg ``0.92``."""

    label: str
    op: str
    arg: float | None = None


@dataclass(frozen=True)
class ComparisonSpec:
    """One comparison: a column (or name role) and its ordered levels."""

    name: str
    kind: str
    levels: tuple[Level, ...]
    column: str | None = None
    role: str | None = None
    valid: str | None = None
    tf: bool = False
    fixed_m: tuple[float, ...] | None = None
    cannot_link: bool = False
    deterministic: bool = False
    # name comparisons: the best level a match through a forename/middle swap reaches
    swap_level: int | None = None

    @property
    def labels(self) -> list[str]:
        """Level labels including the implicit trailing ``else``."""
        return [lv.label for lv in self.levels] + ["else"]


@dataclass(frozen=True)
class BlockingRule:
    """Candidate pairs agree on every key.

    With ``one_side_missing`` set (a standardised column), only pairs in which at least
    one mention lacks that column are made: e.g. forename + surname blocking for mentions
    without a date of birth, when date-based rules already find the pairs that have one.
    """

    name: str
    keys: tuple[str, ...]
    one_side_missing: str | None = None


@dataclass(frozen=True)
class TrainingSession:
    """EM session: pairs blocked by ``keys``, with ``deactivate`` comparisons switched off."""

    keys: tuple[str, ...]
    deactivate: tuple[str, ...]


@dataclass(frozen=True)
class Spec:
    """A validated linkage specification."""

    version: str
    name: str
    comparisons: tuple[ComparisonSpec, ...]
    blocking: tuple[BlockingRule, ...]
    max_block_size: int
    sessions: tuple[TrainingSession, ...]
    auto: float
    review: float
    phonetic: str = "metaphone"
    max_aliases: int = 6
    u_sample_pairs: int = 1_000_000
    em_max_iter: int = 40
    em_tolerance: float = 1e-5
    max_session_pairs: int = 1_000_000
    min_m: float = 0.001
    seed: int = 42
    match_probability: float | None = None
    guard_household: bool = True
    guard_surname_levels: tuple[str, ...] = ("exact", "part")
    guard_dob_years: int = 12
    guard_weight: float = -40.0
    guard_nickname_typo: float = 0.0
    rel_rounds: int = 2
    rel_weight: float = 18.0
    rel_forename_levels: tuple[str, ...] = ("exact", "nickname", "jw>=0.92")
    rel_surname_levels: tuple[str, ...] = ("exact", "part", "jw>=0.92")
    rel_stated_cannot: bool = True
    rel_colisted_cannot: bool = False
    rel_co_parents: bool = False
    rel_skip_ambiguous: bool = False
    rel_generation_gap: int = 0
    rel_grandparent_gap: int = 0
    rel_infer_sex: bool = False
    rel_household_groups: tuple[str, ...] = ()
    rel_household_moves: bool = False
    rel_surname_change: bool = False
    rel_unique_roles: tuple[str, ...] = ()
    train_exclude_cannot: bool = False
    conflict_bits: float = -8.0
    max_exhaustive_cluster: int = 300
    variants_learn: bool = False
    variants_from_aliases: bool = True
    variants_from_identifiers: bool = True
    variants_min_count: int = 2
    ambiguity_margin: float | None = None
    typical_parent_gap: int = 0
    namesake_generation_gap: int = 0
    namesake_max_lag: float = float("inf")
    place_gate: str = ""
    gate_yields_to: tuple[str, ...] = ()
    alias_corroborates: bool = False
    alias_dob_levels: tuple[str, ...] = ()
    place_corroboration: int = 2
    corroborate_within_household: bool = False
    master_kinds: tuple[str, ...] = ()
    same_source_weight: float = 0.0
    same_source_cannot: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def comparison(self, name: str) -> ComparisonSpec:
        """Return the comparison called ``name``."""
        for c in self.comparisons:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        """Comparison names in spec order."""
        return [c.name for c in self.comparisons]


def parse_level(label: str, kind: str) -> Level:
    """Parse a level label such as ``exact`` or ``jw>=0.92`` for comparison ``kind``."""
    m = _LEVEL_RE.match(label)
    if not m:
        raise SpecError(f"bad level label {label!r}")
    op, arg = m.group("op"), m.group("arg")
    if op not in KIND_LEVELS[kind]:
        raise SpecError(f"level {op!r} is not valid for kind {kind!r}")
    if op in ("jw", "lev", "token_set", "years") and arg is None:
        raise SpecError(f"level {label!r} needs a threshold")
    return Level(label=label, op=op, arg=float(arg) if arg is not None else None)


def _comparison(d: dict[str, Any]) -> ComparisonSpec:
    try:
        name, kind = str(d["name"]), str(d["kind"])
    except KeyError as e:
        raise SpecError(f"comparison lacks {e.args[0]!r}") from None
    if kind not in KIND_LEVELS:
        raise SpecError(f"comparison {name!r}: unknown kind {kind!r}")
    levels = tuple(parse_level(str(x), kind) for x in d.get("levels", []))
    if not levels:
        raise SpecError(f"comparison {name!r} has no levels")
    role = d.get("role")
    column = d.get("column")
    if kind == "name":
        if role not in NAME_ROLES:
            raise SpecError(f"name comparison {name!r} needs role in {NAME_ROLES}")
    elif not column:
        raise SpecError(f"comparison {name!r} needs a column")
    fixed_m = d.get("fixed_m")
    if fixed_m is not None:
        fixed_m = tuple(float(x) for x in fixed_m)
        if len(fixed_m) != len(levels) + 1 or abs(sum(fixed_m) - 1.0) > 1e-6:
            raise SpecError(f"comparison {name!r}: fixed_m needs one value per level + else, sum 1")
    swap_level = d.get("swap_level")
    if swap_level is not None:
        labels = [lv.label for lv in levels]
        if kind != "name" or swap_level not in labels:
            raise SpecError(f"comparison {name!r}: swap_level must be one of its levels")
        swap_level = labels.index(swap_level)
    return ComparisonSpec(
        name=name,
        kind=kind,
        levels=levels,
        column=column,
        role=role,
        valid=d.get("valid"),
        tf=bool(d.get("tf", False)),
        fixed_m=fixed_m,
        cannot_link=bool(d.get("cannot_link", False)),
        deterministic=bool(d.get("deterministic", False)),
        swap_level=swap_level,
    )


def spec_from_dict(raw: dict[str, Any]) -> Spec:
    """Validate a parsed spec document and build a :class:`Spec`.

    Raises:
        SpecError: when the document is malformed or of an unsupported version.
    """
    version = str(raw.get("version", ""))
    if version not in SUPPORTED_VERSIONS:
        raise SpecError(f"unsupported spec version {version!r}")
    comps = tuple(_comparison(c) for c in raw.get("comparisons", []))
    names = [c.name for c in comps]
    if len(set(names)) != len(names):
        raise SpecError("comparison names must be unique")
    blk = raw.get("blocking", {})
    rules = tuple(
        BlockingRule(
            name=str(r.get("name", "+".join(r["keys"]))),
            keys=tuple(r["keys"]),
            one_side_missing=r.get("one_side_missing"),
        )
        for r in blk.get("rules", [])
    )
    if not rules:
        raise SpecError("at least one blocking rule is needed")
    tr = raw.get("training", {})
    sessions = tuple(
        TrainingSession(keys=tuple(s["keys"]), deactivate=tuple(s.get("deactivate", [])))
        for s in tr.get("sessions", [])
    )
    for s in sessions:
        for n in s.deactivate:
            if n not in names:
                raise SpecError(f"training session deactivates unknown comparison {n!r}")
    th = raw.get("thresholds", {})
    auto, review = float(th.get("auto", 0.95)), float(th.get("review", 0.6))
    if not 0.0 < review <= auto < 1.0:
        raise SpecError("thresholds need 0 < review <= auto < 1")
    st = raw.get("standardise", {})
    gd = raw.get("guards", {})
    rel = raw.get("relationship", {})
    cl = raw.get("clustering", {})
    pr = raw.get("prior", {})
    if cl.get("alias_corroborates"):
        dob_levels = {lv.label for c in comps if c.name == "dob" for lv in c.levels}
        for label in cl.get("alias_dob_levels", ()):
            if label not in dob_levels:
                raise SpecError(f"alias_dob_levels: {label!r} is not a level of the dob comparison")
    return Spec(
        version=version,
        name=str(raw.get("name", "unnamed")),
        comparisons=comps,
        blocking=rules,
        max_block_size=int(blk.get("max_block_size", 2000)),
        sessions=sessions,
        auto=auto,
        review=review,
        phonetic=str(st.get("phonetic", "metaphone")),
        max_aliases=int(st.get("max_aliases", 6)),
        u_sample_pairs=int(tr.get("u_sample_pairs", 1_000_000)),
        em_max_iter=int(tr.get("em_max_iter", 40)),
        em_tolerance=float(tr.get("em_tolerance", 1e-5)),
        max_session_pairs=int(tr.get("max_session_pairs", 1_000_000)),
        min_m=float(tr.get("min_m", 0.001)),
        seed=int(tr.get("seed", 42)),
        match_probability=pr.get("match_probability"),
        guard_household=bool(gd.get("household", True)),
        guard_surname_levels=tuple(gd.get("household_surname_levels", ("exact", "part"))),
        guard_dob_years=int(gd.get("dob_years_apart", 12)),
        guard_weight=float(gd.get("weight", -40.0)),
        guard_nickname_typo=float(gd.get("nickname_typo_jw", 0.0)),
        rel_rounds=int(rel.get("rounds", 2)),
        rel_weight=float(rel.get("weight", 18.0)),
        rel_forename_levels=tuple(rel.get("forename_levels", ("exact", "nickname", "jw>=0.92"))),
        rel_surname_levels=tuple(rel.get("surname_levels", ("exact", "part", "jw>=0.92"))),
        rel_stated_cannot=bool(rel.get("stated_cannot_link", True)),
        rel_colisted_cannot=bool(rel.get("co_listed_cannot_link", False)),
        rel_co_parents=bool(rel.get("co_parents", False)),
        rel_skip_ambiguous=bool(rel.get("skip_ambiguous", False)),
        rel_generation_gap=int(rel.get("generation_gap_years", 0)),
        rel_grandparent_gap=int(
            rel.get("grandparent_gap_years", 2 * int(rel.get("generation_gap_years", 0)))
        ),
        rel_infer_sex=bool(rel.get("infer_sex", False)),
        rel_household_groups=tuple(rel.get("household_groups", ())),
        rel_household_moves=bool(rel.get("household_moves", False)),
        rel_surname_change=bool(rel.get("surname_change", False)),
        rel_unique_roles=tuple(rel.get("unique_roles", ())),
        train_exclude_cannot=bool(tr.get("exclude_cannot_links", False)),
        conflict_bits=float(cl.get("conflict_bits", -8.0)),
        master_kinds=tuple(raw.get("sources", {}).get("master_kinds", ())),
        same_source_weight=float(raw.get("sources", {}).get("same_source_weight", 0.0)),
        same_source_cannot=bool(raw.get("sources", {}).get("same_source_cannot_link", False)),
        max_exhaustive_cluster=int(cl.get("max_exhaustive_cluster", 300)),
        variants_learn=bool(raw.get("name_variants", {}).get("learn", False)),
        variants_from_aliases=bool(raw.get("name_variants", {}).get("from_aliases", True)),
        variants_from_identifiers=bool(raw.get("name_variants", {}).get("from_identifiers", True)),
        variants_min_count=int(raw.get("name_variants", {}).get("min_count", 2)),
        ambiguity_margin=(
            float(cl["ambiguity_margin_bits"]) if "ambiguity_margin_bits" in cl else None
        ),
        typical_parent_gap=int(cl.get("typical_parent_gap_years", 0)),
        namesake_generation_gap=int(cl.get("namesake_generation_years", 0)),
        namesake_max_lag=float(cl.get("namesake_max_lag_bits", float("inf"))),
        place_gate=str(cl.get("place_gate", "")),
        gate_yields_to=tuple(cl.get("gate_yields_to", ())),
        alias_corroborates=bool(cl.get("alias_corroborates", False)),
        alias_dob_levels=tuple(cl.get("alias_dob_levels", ())),
        place_corroboration=int(cl.get("place_corroboration", 2)),
        corroborate_within_household=bool(cl.get("corroborate_within_household", False)),
        raw=raw,
    )


def load_spec(path: str | Path | None = None) -> Spec:
    """Load a spec file (the packaged ``default.toml`` when ``path`` is None)."""
    p = Path(path) if path is not None else DEFAULT_SPEC_PATH
    with p.open("rb") as f:
        return spec_from_dict(tomllib.load(f))


def loads_spec(text: str) -> Spec:
    """Parse a spec from TOML text."""
    return spec_from_dict(tomllib.loads(text))
