"""Load and validate the linkage specification (a versioned TOML file)."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cpgraph.errors import LinkageError

DEFAULT_SPEC_PATH = Path(__file__).parent / "spec" / "default.toml"
SUPPORTED_VERSIONS = {str(v) for v in range(1, 26)}
# Guards a spec may declare reviewable (`[guards] reviewable`): the pair is kept apart but,
# when it scores at or above `review`, it is a possible match with the guard's name as the
# reason.  The household and Jr/Sr guards and identifier cannot-links stay hard.
ReviewableGuard = Literal[
    "generation_suffix_one_side",
    "index_twins_middle_name",
    "index_namesakes_at_home",
    "index_household_surname_typo",
    "household_name_order",
    "index_twins_forename",
    "different_addresses",
    "different_middle_names",
    "household_surname_typo",
]
REVIEWABLE_GUARDS: tuple[str, ...] = get_args(ReviewableGuard)

# Levels each comparison kind understands; `else` and `missing` are implicit.
KIND_LEVELS: dict[str, tuple[str, ...]] = {
    "name": ("exact", "nickname", "jw", "initial", "part", "lev", "osa"),
    "string": ("exact", "jw", "lev", "osa", "token_set", "initial"),
    "date": ("exact", "swap_dm", "lev", "osa", "year_off1", "month_year", "years"),
    "postcode_uk": ("exact", "sector", "district"),
    "category": ("exact",),
    "identifier": ("exact", "lev"),
}
NAME_ROLES = ("fn", "mn", "sn")
_LEVEL_RE = re.compile(r"^(?P<op>[a-z_0-9]+?)(?:(?:>=|<=)(?P<arg>[0-9.]+))?$")


class SpecError(LinkageError, ValueError):
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

    def codes(self, labels: Iterable[str], missing_ok: bool = False) -> np.ndarray:
        """The level codes (positions in :attr:`labels`) of ``labels``, as int64.

        Raises:
            ValueError: a label this comparison has no level of (unless ``missing_ok``:
                it is left out).
        """
        have = self.labels
        return np.asarray([have.index(x) for x in labels if not missing_ok or x in have], np.int64)


@dataclass(frozen=True)
class BlockingRule:
    """Candidate pairs agree on every key.

    With ``one_side_missing`` set (a standardised column), only pairs in which at least
    one mention lacks that column are made: e.g. forename + surname blocking for mentions
    without a date of birth, when date-based rules already find the pairs that have one.
    With ``year_slip`` (22-recall11), only pairs whose birth years are one keying slip
    apart are made: one year out, or the year's last two digits transposed (1987 /
    1978); not the same year, nor the tens digit alone (1995 / 1985: ten years).
    """

    name: str
    keys: tuple[str, ...]
    one_side_missing: str | None = None
    year_slip: bool = False


@dataclass(frozen=True)
class TrainingSession:
    """EM session: pairs blocked by ``keys``, with ``deactivate`` comparisons switched off."""

    keys: tuple[str, ...]
    deactivate: tuple[str, ...]


@dataclass(frozen=True)
class Spec:
    """A validated linkage specification, flat for the engine.

    Built only by :func:`spec_from_dict` from a :class:`SpecDocument`, whose section
    models hold every default (so they are written once).
    """

    version: str
    name: str
    comparisons: tuple[ComparisonSpec, ...]
    blocking: tuple[BlockingRule, ...]
    max_block_size: int
    sessions: tuple[TrainingSession, ...]
    auto: float
    review: float
    phonetic: str
    max_aliases: int
    u_sample_pairs: int
    em_max_iter: int
    em_tolerance: float
    max_session_pairs: int
    min_m: float
    seed: int
    match_probability: float | None
    guard_household: bool
    guard_surname_levels: tuple[str, ...]
    guard_dob_years: int
    guard_weight: float
    guard_nickname_typo: float
    guard_generation: bool
    rel_rounds: int
    rel_weight: float
    rel_forename_levels: tuple[str, ...]
    rel_surname_levels: tuple[str, ...]
    rel_stated_cannot: bool
    rel_colisted_cannot: bool
    rel_co_parents: bool
    rel_skip_ambiguous: bool
    rel_generation_gap: int
    rel_grandparent_gap: int
    rel_infer_sex: bool
    rel_household_groups: tuple[str, ...]
    rel_household_moves: bool
    rel_surname_change: bool
    rel_unique_roles: tuple[str, ...]
    train_exclude_cannot: bool
    conflict_bits: float
    max_exhaustive_cluster: int
    variants_learn: bool
    variants_from_aliases: bool
    variants_from_identifiers: bool
    variants_min_count: int
    ambiguity_margin: float | None
    typical_parent_gap: int
    namesake_generation_gap: int
    namesake_max_lag: float
    place_gate: str
    gate_yields_to: tuple[str, ...]
    alias_corroborates: bool
    alias_dob_levels: tuple[str, ...]
    place_corroboration: int
    corroborate_within_household: bool
    master_kinds: tuple[str, ...]
    same_source_weight: float
    same_source_cannot: bool
    same_source_learn: bool
    same_source_conflicts: tuple[str, ...]
    alias_distinct_surnames_jw: float = 0.0
    # 21-alike10: recorded surnames one vowel-only transliteration apart are one name
    alias_distinct_surnames_vowels: bool = False
    # 19-recall8: places where a stated relative's full name is recorded count for the gate
    gate_kin_namesake_places: int = 0
    # 20-recall9: ...relatives of the record's own surname, when this many are seen there
    gate_kin_namesake_own_surname: int = 0
    # 21-recall10: a link of one full name and birth date at two places, one record's
    # relative of its own surname known by full name at the other's place
    gate_kin_own_surname_full_match: bool = False
    # 21-within10: comparisons whose disagreement is not counted for two records of one
    # index at two places when the person's household is known at the other place
    index_move_kin_ignores: tuple[str, ...] = ()
    alias_home_check: bool = False
    # v14: the alias home check also reads a surname a slip off the alias there
    alias_home_check_jw: float = 0.0
    # 15: the alias home check also reads the holder's own date of birth
    alias_home_check_own_dob: bool = False
    # 20-recall9: a one-digit slip of the birth year's tens digit is no alias evidence
    alias_dob_no_decade_slip: bool = False
    guard_generation_one_side: bool = False
    guard_index_twins: bool = False
    # v14: the index twins guard reads middle names in any spelling, surnames a typo apart
    guard_index_twins_spellings: bool = False
    # 19-alike8: a forename agreeing only as the other's middle name, where the middle-name
    # holder's own index holds a record of that forename at its address (the twin on file)
    guard_middle_name_twin_on_file: bool = False
    # 20-alike9: the index twins guard (exact middle name) at any two addresses of the index
    guard_index_twins_anywhere: bool = False
    # 16-alike6: one index, one address, one birth date, forenames two real names alike
    # only by spelling (Anna / Joanna): twins, kept apart for review
    guard_index_twins_forename: bool = False
    # 17-alike7: one postcode, two wholly different addresses (no word or number in
    # common): two households, kept apart for review ("different_addresses")
    guard_postcode_other_address: bool = False
    # 24: one surname and birth date, a forename that is not the other's, and middle
    # names with no name in common ("John Liam" / "Ian Michael"): kept apart for review
    guard_middle_names_differ: bool = False
    # 24: the household guard through a surname a keystroke off across two agencies
    # (within one index: index_household_surname_typo): kept apart for review
    guard_household_typo_any_index: bool = False
    # 24: one index, one surname and birth date, unrelated forenames, at any two
    # addresses (at one, the household guard cuts): twins, kept apart for review
    guard_index_twins_forename_anywhere: bool = False
    # 24: one index, one address, the name once with a generation suffix and once
    # without: two men (kept apart for review, as generation_suffix_one_side)
    guard_index_suffix_namesakes: bool = False
    # 24-alike13: the namesakes guard for names a slip apart, when the place holds a
    # dated record of the undated one's name a generation from the dated one
    guard_index_namesakes_slip_generation: bool = False
    # 15-alike5: at one address, equal recorded surnames and unrelated recorded
    # forenames are two people whatever the name-order swap variant agrees on
    guard_household_name_order: bool = False
    # ...unless the two forenames share this many first letters (a short form); 0: off
    guard_name_order_stem: int = 0
    guard_index_namesakes: tuple[str, ...] = ()
    same_source_conflict_dob_edits: int = 0
    # 17-within7: a pair of one master index that agrees on every listed comparison at one
    # of its levels, but not on all at their first: a variant the index's own search
    # missed (a nickname, a misspelt surname, a slipped birth date), gets this
    # same-source weight instead of the learned one (None: off)
    search_miss_weight: float | None = None
    search_miss_levels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # 19-within8: per master kind, the identifier its index issues or traces to (a
    # hospital's patients: the NHS number), as (kind, identifier comparison) pairs
    own_identifiers: tuple[tuple[str, str], ...] = ()
    # 19-within8: a pair of one master index, one record carrying the index's own
    # identifier and the other none, agreeing at `search_miss_levels` (exact included):
    # an untraced registration beside the traced one; this same-source weight instead of
    # the learned one (None: off)
    untraced_weight: float | None = None
    # v12: generation bounds read a birth year as possibly keyed with two digits swapped
    rel_year_slips: bool = False
    # v13: detach_ambiguous passes (a person's age read once its ambiguous mentions are out)
    ambiguity_passes: int = 1
    # v13: a relative looked for at her anchor's address meets the household guard there
    rel_household_guard: bool = False
    # 15-alike5: an undated "Sr" record was born a generation before the latest birth
    rel_senior_generation: bool = False
    # 22-alike11: an undated record with a valid PNC ID was born by the ID's year of issue
    rel_pnc_issue_year: bool = False
    # 15: a name-only mention whose middle names agree only with a rival namesake
    # (a person it may not join) is ambiguous, whatever the weights say
    ambiguous_middle_names: bool = False
    # 15: a record held through a nickname while a person it may not join has its
    # forename and birth date exactly (a twin) is ambiguous
    ambiguous_twins: bool = False
    # 20-alike9: a name-only mention held in its person only through detached (ambiguous)
    # mentions is read again without them
    ambiguity_detached_support: bool = False
    # 22-within11 (issue #19): a dated, placeless record of one master index fitting two
    # of its persons within `ambiguity_margin` is taken out (queued, `ambiguous_record`)
    index_ambiguous_placeless: bool = False
    # 16-alike6: the middle-names rule also reads a rival a reviewable guard keeps the
    # mention apart from (a possible match at `auto`), not only a linked one
    ambiguous_middle_names_kept: bool = False
    # v12: the household guard's far-apart birth dates yield to dates this many slips apart
    guard_dob_far_slips: int = 0
    # guards that keep a pair apart for a steward instead of hiding it (REVIEWABLE_GUARDS)
    guard_reviewable: tuple[str, ...] = ()
    # v13: surname levels at which the namesakes-at-home guard reads one name twice
    guard_index_namesakes_surname_levels: tuple[str, ...] = ("exact",)
    # 24-within12: the namesakes-at-home guard does not hold two records whose recorded
    # surnames are two names (Jaro-Winkler below this): one of them agrees only through
    # its alias (0: off)
    guard_index_namesakes_alias_jw: float = 0.0
    # v13: inside one index, the household guard at these (typo) surname levels too
    guard_index_household_typo_levels: tuple[str, ...] = ()
    # the place gate yields to a full-name match inside one index too (measured off, not kept)
    gate_yields_within_index: bool = True
    # v13: learned forename pairs that are spellings of one name (one consonant skeleton)
    # join into classes sharing their ties (Maxamed ~ Mohamed ~ Mohamud; Mo ~ Muhammed)
    variants_spelling_classes: bool = False
    # 15-recall5: the nicknames dataset's ties carried over to other spellings of a name
    # (Kate is Catherine's as well as Katherine's); forename pairs the spec lists itself
    variants_dataset_spellings: bool = False
    variants_pairs: tuple[tuple[str, str], ...] = ()
    # v14: pairs of one master index kept apart are possible matches from this probability
    # up (below `review`): the source agency's duplicate queue; None: from `review`, as any
    within_index_review: float | None = None
    # v14: pairs at `auto` or above kept apart only because one person holds a record the
    # other may not join (`conflicting_records`) are queued too: of one index, or all
    review_conflicting: str = "none"
    # v14: the household guard's forename misspelling also within this many keying edits
    # (OSA) of the other name or a name tied to it (0: Jaro-Winkler only)
    guard_nickname_typo_edits: int = 0
    # v14: dob levels at which the full-name match (gate_yields_to) still yields the gate
    gate_yields_dob_levels: tuple[str, ...] = ("exact",)
    # 15: in the relationship rounds, two mentions of one anchor whose forenames are
    # a keying slip of each other (or of a name tied to the other: the household guard's
    # misspelling test) are compatible, unless their birth dates disagree
    rel_forename_typo: bool = False
    # 16-visible6: a relationship candidate that a reviewable guard alone keeps apart
    # (scored, or at the anchor's address) and that would have linked is kept as a
    # possible match (a review-queue edge with the guard as its reason), not dropped
    rel_review_guarded: bool = False
    # 16-alike6: the rounds' household path (no shared anchor) holds an undated suffixed
    # record and an unsuffixed one as a possible match, unless the latter has his Junior
    rel_household_suffix_review: bool = False
    # 23-recall12: in the rounds, two mentions stated in one unique role (mother, father)
    # to one resolved person, forenames at one of these levels, surnames beyond
    # `surname_levels`: compatible, and the surname comparison's weight is not counted (a
    # married and a maiden name); empty: off
    rel_unique_surname_change: tuple[str, ...] = ()
    # 23-recall12: a relationship candidate whose birth dates (or sexes) disagree at
    # `else` is no link, whatever the rounds' bonus
    rel_parted_dates: bool = False
    # 23-recall12: two unique-role mentions at two places where the person they are stated
    # against is recorded: their postcode and address disagreement is not counted
    rel_unique_anchor_places: bool = False
    # 19: a relationship link never joins two groups whose known birth years lie this many
    # years or more apart (0: off); see `constrained_components`
    rel_generation_guard: int = 0
    # 15: a person the name-only mention may not join itself (a cannot-link with
    # one of its records) is no rival that makes the mention ambiguous
    ambiguity_forbidden_rivals: bool = True
    # 15: an ambiguous parent mention goes to the one candidate person another
    # mention already states in that unique role (mother, father) of the same child
    ambiguity_unique_roles: bool = False
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


class _Section(BaseModel):
    """A spec section: unknown keys are errors (a misspelt key must not switch a rule off)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StandardiseDoc(_Section):
    phonetic: Literal["metaphone", "soundex", "nysiis"] = "metaphone"
    max_aliases: int = Field(6, ge=0)


class NameVariantsDoc(_Section):
    learn: bool = False
    from_aliases: bool = True
    from_identifiers: bool = True
    min_count: int = Field(2, ge=1)
    spelling_classes: bool = False
    # 15-recall5: the nicknames dataset's ties hold for every spelling of a canonical name
    dataset_spellings: bool = False
    # 15-recall5: forename pairs the spec itself holds as one name ([a, b] each)
    pairs: list[tuple[str, str]] = []


class BlockingRuleDoc(_Section):
    name: str | None = None
    keys: list[str] = Field(min_length=1)
    one_side_missing: str | None = None
    year_slip: bool = False


class BlockingDoc(_Section):
    max_block_size: int = Field(2000, ge=2)
    rules: list[BlockingRuleDoc] = Field(min_length=1)


class ComparisonDoc(_Section):
    name: str
    kind: str
    levels: list[str] = Field(min_length=1)
    column: str | None = None
    role: str | None = None
    valid: str | None = None
    tf: bool = False
    fixed_m: list[float] | None = None
    cannot_link: bool = False
    deterministic: bool = False
    swap_level: str | None = None


class TrainingSessionDoc(_Section):
    keys: list[str] = Field(min_length=1)
    deactivate: list[str] = []


class TrainingDoc(_Section):
    u_sample_pairs: int = Field(1_000_000, ge=1)
    em_max_iter: int = Field(40, ge=1)
    em_tolerance: float = Field(1e-5, gt=0)
    max_session_pairs: int = Field(1_000_000, ge=1)
    min_m: float = Field(0.001, gt=0, lt=1)
    seed: int = 42
    exclude_cannot_links: bool = False
    sessions: list[TrainingSessionDoc] = []


class PriorDoc(_Section):
    match_probability: float | None = Field(None, gt=0, lt=1)


class SourcesDoc(_Section):
    master_kinds: list[str] = []
    same_source_weight: float = 0.0
    same_source_cannot_link: bool = False
    learn_same_source: bool = False
    same_source_conflicts: list[str] = []
    same_source_conflict_dob_edits: int = Field(0, ge=0, le=8)
    search_miss_weight: float | None = None
    search_miss_levels: dict[str, list[str]] = {}
    own_identifiers: dict[str, str] = {}
    untraced_weight: float | None = None


class ThresholdsDoc(_Section):
    auto: float = 0.95
    review: float = 0.6
    within_index_review: float | None = None
    review_conflicting: Literal["none", "within_index", "all"] = "none"


class GuardsDoc(_Section):
    household: bool = True
    household_surname_levels: list[str] = ["exact", "part"]
    dob_years_apart: int = 12
    weight: float = -40.0
    nickname_typo_jw: float = Field(0.0, ge=0, le=1)
    generation_suffix: bool = False
    generation_suffix_one_side: bool = False
    index_twins_middle_name: bool = False
    index_twins_middle_name_spellings: bool = False
    middle_name_twin_on_file: bool = False
    index_twins_middle_name_anywhere: bool = False
    index_twins_forename: bool = False
    postcode_other_address: bool = False
    middle_names_differ: bool = False
    household_typo_any_index: bool = False
    index_twins_forename_anywhere: bool = False
    index_suffix_namesakes: bool = False
    index_namesakes_slip_generation: bool = False
    household_name_order: bool = False
    household_name_order_stem: int = Field(0, ge=0, le=8)
    index_namesakes_at_home: list[str] = []
    reviewable: list[ReviewableGuard] = []
    dob_far_slips: int = Field(0, ge=0, le=8)
    nickname_typo_edits: int = Field(0, ge=0, le=2)
    index_namesakes_surname_levels: list[str] = ["exact"]
    index_namesakes_alias_jw: float = Field(0.0, ge=0, le=1)
    index_household_typo_levels: list[str] = []


class RelationshipDoc(_Section):
    rounds: int = Field(2, ge=0)
    weight: float = 18.0
    forename_levels: list[str] = ["exact", "nickname", "jw>=0.92"]
    surname_levels: list[str] = ["exact", "part", "jw>=0.92"]
    surname_change: bool = False
    unique_roles: list[str] = []
    stated_cannot_link: bool = True
    co_listed_cannot_link: bool = False
    co_parents: bool = False
    skip_ambiguous: bool = False
    generation_gap_years: int = 0
    # default: twice the generation gap
    grandparent_gap_years: int | None = None
    infer_sex: bool = False
    household_groups: list[str] = []
    household_moves: bool = False
    year_slips: bool = False
    household_guard: bool = False
    senior_generation: bool = False
    pnc_issue_year: bool = False
    forename_typo: bool = False
    review_guarded: bool = False
    household_suffix_review: bool = False
    unique_role_surname_change: list[str] = []
    parted_dates: bool = False
    unique_role_anchor_places: bool = False
    generation_guard_years: int = Field(0, ge=0)


class ClusteringDoc(_Section):
    conflict_bits: float = -8.0
    max_exhaustive_cluster: int = Field(300, ge=2)
    place_gate: str = ""
    place_corroboration: int = 2
    corroborate_within_household: bool = False
    gate_kin_namesake_places: int = Field(0, ge=0)
    gate_kin_namesake_own_surname: int = Field(0, ge=0)
    gate_kin_own_surname_full_match: bool = False
    index_move_kin_ignores: list[str] = []
    gate_yields_to: list[str] = []
    gate_yields_within_index: bool = True
    gate_yields_dob_levels: list[str] = ["exact"]
    alias_corroborates: bool = False
    alias_dob_levels: list[str] = []
    alias_distinct_surnames_jw: float = Field(0.0, ge=0, le=1)
    alias_distinct_surnames_vowels: bool = False
    alias_home_check: bool = False
    alias_home_check_jw: float = Field(0.0, ge=0, le=1)
    alias_home_check_own_dob: bool = False
    alias_dob_no_decade_slip: bool = False
    ambiguity_margin_bits: float | None = None
    ambiguity_passes: int = Field(1, ge=1, le=4)
    ambiguity_forbidden_rivals: bool = True
    ambiguity_unique_roles: bool = False
    ambiguous_middle_names: bool = False
    ambiguous_twins: bool = False
    ambiguous_middle_names_kept: bool = False
    ambiguity_detached_support: bool = False
    index_ambiguous_placeless: bool = False
    typical_parent_gap_years: int = 0
    namesake_generation_years: int = 0
    namesake_max_lag_bits: float = float("inf")


class SpecDocument(_Section):
    """A linkage spec file as written: one model per section, defaults written here only."""

    version: str
    name: str = "unnamed"
    standardise: StandardiseDoc = StandardiseDoc()
    name_variants: NameVariantsDoc = NameVariantsDoc()
    blocking: BlockingDoc
    comparisons: list[ComparisonDoc] = []
    training: TrainingDoc = TrainingDoc()
    prior: PriorDoc = PriorDoc()
    sources: SourcesDoc = SourcesDoc()
    thresholds: ThresholdsDoc = ThresholdsDoc()
    guards: GuardsDoc = GuardsDoc()
    relationship: RelationshipDoc = RelationshipDoc()
    clustering: ClusteringDoc = ClusteringDoc()


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The section model a validation error's location points into."""
    for part in loc:
        if isinstance(part, int):
            continue  # a list index: same item model
        field_info = model.model_fields.get(str(part))
        if field_info is None:
            return None
        ann = field_info.annotation
        inner = [a for a in get_args(ann) if isinstance(a, type) and issubclass(a, BaseModel)]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        elif inner:
            model = inner[0]
        else:
            return None
    return model


def _error_line(err: ValidationError) -> str:
    """One line naming the first problem (and, for an unknown key, the closest known one)."""
    errors = err.errors()
    # a misspelt key explains the "missing" one beside it: name it first
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(first["loc"])
    where = ".".join(str(x) for x in loc)
    if first["type"] == "extra_forbidden":
        parent = _model_at(SpecDocument, loc[:-1])
        known = list(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key {where!r}{hint}"
    return f"{where}: {first['msg']}"


def _comparison(d: ComparisonDoc) -> ComparisonSpec:
    name, kind = d.name, d.kind
    if kind not in KIND_LEVELS:
        raise SpecError(f"comparison {name!r}: unknown kind {kind!r}")
    levels = tuple(parse_level(str(x), kind) for x in d.levels)
    if kind == "name":
        if d.role not in NAME_ROLES:
            raise SpecError(f"name comparison {name!r} needs role in {NAME_ROLES}")
    elif not d.column:
        raise SpecError(f"comparison {name!r} needs a column")
    fixed_m = tuple(d.fixed_m) if d.fixed_m is not None else None
    if fixed_m is not None and (len(fixed_m) != len(levels) + 1 or abs(sum(fixed_m) - 1.0) > 1e-6):
        raise SpecError(f"comparison {name!r}: fixed_m needs one value per level + else, sum 1")
    swap_level = None
    if d.swap_level is not None:
        labels = [lv.label for lv in levels]
        if kind != "name" or d.swap_level not in labels:
            raise SpecError(f"comparison {name!r}: swap_level must be one of its levels")
        swap_level = labels.index(d.swap_level)
    return ComparisonSpec(
        name=name,
        kind=kind,
        levels=levels,
        column=d.column,
        role=d.role,
        valid=d.valid,
        tf=d.tf,
        fixed_m=fixed_m,
        cannot_link=d.cannot_link,
        deterministic=d.deterministic,
        swap_level=swap_level,
    )


def _name_levels(comps: list[ComparisonSpec], role: str) -> set[str]:
    """The level labels of the name comparisons of ``role`` (``fn``, ``mn``, ``sn``)."""
    return {lv.label for c in comps if c.kind == "name" and c.role == role for lv in c.levels}


def _check_relationship_levels(rel: RelationshipDoc, comps: list[ComparisonSpec]) -> None:
    """The relationship rounds' level lists name levels of the name comparisons.

    A misspelt label ("jw>=.92") would match no pair, and the rule it belongs to would
    be silently off; it fails here instead. Only the lists a spec writes are checked
    (a default list meets a small spec's levels where they exist, e.g. FEBRL's), and a
    spec without the comparison has no rounds to read the list.

    Raises:
        SpecError: a label that is not a level of its comparison.
    """
    levels = {role: _name_levels(comps, role) for role in ("fn", "sn")}
    for key, role, what in (
        ("forename_levels", "fn", "forename"),
        ("unique_role_surname_change", "fn", "forename"),
        ("surname_levels", "sn", "surname"),
    ):
        known = levels[role]
        for label in getattr(rel, key) if known and key in rel.model_fields_set else ():
            if label not in known:
                raise SpecError(
                    f"[relationship] {key}: {label!r} is not a level of the {what} comparison"
                )


def spec_from_dict(raw: dict[str, Any]) -> Spec:
    """Validate a parsed spec document and build a :class:`Spec`.

    Raises:
        SpecError: when the document is malformed (one line: the first problem, and for a
            misspelt key the closest known one) or of an unsupported version.
    """
    version = str(raw.get("version", ""))
    if version not in SUPPORTED_VERSIONS:
        raise SpecError(f"unsupported spec version {version!r}")
    try:
        doc = SpecDocument.model_validate({**raw, "version": version})
    except ValidationError as e:
        raise SpecError(_error_line(e)) from None
    comps = tuple(_comparison(c) for c in doc.comparisons)
    names = [c.name for c in comps]
    if len(set(names)) != len(names):
        raise SpecError("comparison names must be unique")
    rules = tuple(
        BlockingRule(
            name=r.name or "+".join(r.keys),
            keys=tuple(r.keys),
            one_side_missing=r.one_side_missing,
            year_slip=r.year_slip,
        )
        for r in doc.blocking.rules
    )
    tr, th, st, gd = doc.training, doc.thresholds, doc.standardise, doc.guards
    rel, cl, src, nv = doc.relationship, doc.clustering, doc.sources, doc.name_variants
    sessions = tuple(
        TrainingSession(keys=tuple(s.keys), deactivate=tuple(s.deactivate)) for s in tr.sessions
    )
    for s in sessions:
        for n in s.deactivate:
            if n not in names:
                raise SpecError(f"training session deactivates unknown comparison {n!r}")
    if not 0.0 < th.review <= th.auto < 1.0:
        raise SpecError("thresholds need 0 < review <= auto < 1")
    if th.within_index_review is not None and not 0.0 < th.within_index_review <= th.review:
        raise SpecError("thresholds need 0 < within_index_review <= review")
    for n in cl.gate_yields_to:
        if n not in names:
            raise SpecError(f"gate_yields_to names unknown comparison {n!r}")
    for n in cl.index_move_kin_ignores:
        if n not in names:
            raise SpecError(f"index_move_kin_ignores names unknown comparison {n!r}")
    dob_labels = {lv.label for c in comps if c.name == "dob" for lv in c.levels}
    for label in cl.gate_yields_dob_levels if "dob" in names else ():
        if label not in dob_labels:
            raise SpecError(
                f"gate_yields_dob_levels: {label!r} is not a level of the dob comparison"
            )
    if src.search_miss_weight is not None and not src.search_miss_levels:
        raise SpecError("search_miss_weight needs search_miss_levels")
    for n, labels in src.search_miss_levels.items():
        comp = next((c for c in comps if c.name == n), None)
        if comp is None:
            raise SpecError(f"search_miss_levels names unknown comparison {n!r}")
        known = {lv.label for lv in comp.levels}
        for label in labels:
            if label not in known:
                raise SpecError(f"search_miss_levels: {label!r} is not a level of {n!r}")
    for kind, n in src.own_identifiers.items():
        comp = next((c for c in comps if c.name == n), None)
        if comp is None or comp.kind != "identifier":
            raise SpecError(f"own_identifiers: {n!r} ({kind}) is not an identifier comparison")
    if src.untraced_weight is not None and not (src.own_identifiers and src.search_miss_levels):
        raise SpecError("untraced_weight needs own_identifiers and search_miss_levels")
    for n in src.same_source_conflicts:
        if n not in names:
            raise SpecError(f"same_source_conflicts names unknown comparison {n!r}")
    if src.same_source_cannot_link and (src.learn_same_source or src.same_source_conflicts):
        raise SpecError(
            "same_source_cannot_link keeps every within-system pair apart: it cannot be "
            "combined with learn_same_source or same_source_conflicts"
        )
    if cl.alias_corroborates:
        dob_levels = {lv.label for c in comps if c.name == "dob" for lv in c.levels}
        for label in cl.alias_dob_levels:
            if label not in dob_levels:
                raise SpecError(f"alias_dob_levels: {label!r} is not a level of the dob comparison")
    sn_levels = _name_levels(comps, "sn")
    for key in ("index_namesakes_surname_levels", "index_household_typo_levels"):
        # (a spec without a surname comparison has no guard to read them)
        for label in getattr(gd, key) if sn_levels else ():
            if label not in sn_levels:
                raise SpecError(f"{key}: {label!r} is not a level of the surname comparison")
    _check_relationship_levels(rel, comps)
    grandparent = rel.grandparent_gap_years
    return Spec(
        version=version,
        name=doc.name,
        comparisons=comps,
        blocking=rules,
        max_block_size=doc.blocking.max_block_size,
        sessions=sessions,
        auto=th.auto,
        review=th.review,
        within_index_review=th.within_index_review,
        review_conflicting=th.review_conflicting,
        phonetic=st.phonetic,
        max_aliases=st.max_aliases,
        u_sample_pairs=tr.u_sample_pairs,
        em_max_iter=tr.em_max_iter,
        em_tolerance=tr.em_tolerance,
        max_session_pairs=tr.max_session_pairs,
        min_m=tr.min_m,
        seed=tr.seed,
        match_probability=doc.prior.match_probability,
        guard_household=gd.household,
        guard_surname_levels=tuple(gd.household_surname_levels),
        guard_dob_years=gd.dob_years_apart,
        guard_weight=gd.weight,
        guard_nickname_typo=gd.nickname_typo_jw,
        guard_generation=gd.generation_suffix,
        rel_rounds=rel.rounds,
        rel_weight=rel.weight,
        rel_forename_levels=tuple(rel.forename_levels),
        rel_surname_levels=tuple(rel.surname_levels),
        rel_stated_cannot=rel.stated_cannot_link,
        rel_colisted_cannot=rel.co_listed_cannot_link,
        rel_co_parents=rel.co_parents,
        rel_skip_ambiguous=rel.skip_ambiguous,
        rel_generation_gap=rel.generation_gap_years,
        rel_grandparent_gap=(
            grandparent if grandparent is not None else 2 * rel.generation_gap_years
        ),
        rel_infer_sex=rel.infer_sex,
        rel_year_slips=rel.year_slips,
        guard_dob_far_slips=gd.dob_far_slips,
        rel_household_groups=tuple(rel.household_groups),
        rel_household_moves=rel.household_moves,
        rel_household_guard=rel.household_guard,
        rel_senior_generation=rel.senior_generation,
        rel_pnc_issue_year=rel.pnc_issue_year,
        rel_forename_typo=rel.forename_typo,
        rel_review_guarded=rel.review_guarded,
        rel_household_suffix_review=rel.household_suffix_review,
        rel_unique_surname_change=tuple(rel.unique_role_surname_change),
        rel_parted_dates=rel.parted_dates,
        rel_unique_anchor_places=rel.unique_role_anchor_places,
        rel_generation_guard=rel.generation_guard_years,
        rel_surname_change=rel.surname_change,
        rel_unique_roles=tuple(rel.unique_roles),
        train_exclude_cannot=tr.exclude_cannot_links,
        conflict_bits=cl.conflict_bits,
        master_kinds=tuple(src.master_kinds),
        same_source_weight=src.same_source_weight,
        same_source_cannot=src.same_source_cannot_link,
        same_source_learn=src.learn_same_source,
        same_source_conflicts=tuple(src.same_source_conflicts),
        same_source_conflict_dob_edits=src.same_source_conflict_dob_edits,
        search_miss_weight=src.search_miss_weight,
        search_miss_levels=tuple((n, tuple(v)) for n, v in src.search_miss_levels.items()),
        own_identifiers=tuple((str(k), str(n)) for k, n in src.own_identifiers.items()),
        untraced_weight=src.untraced_weight,
        max_exhaustive_cluster=cl.max_exhaustive_cluster,
        variants_learn=nv.learn,
        variants_from_aliases=nv.from_aliases,
        variants_from_identifiers=nv.from_identifiers,
        variants_min_count=nv.min_count,
        variants_spelling_classes=nv.spelling_classes,
        variants_dataset_spellings=nv.dataset_spellings,
        variants_pairs=tuple((str(a), str(b)) for a, b in nv.pairs),
        ambiguity_margin=cl.ambiguity_margin_bits,
        ambiguity_passes=cl.ambiguity_passes,
        ambiguity_forbidden_rivals=cl.ambiguity_forbidden_rivals,
        ambiguity_unique_roles=cl.ambiguity_unique_roles,
        ambiguous_middle_names=cl.ambiguous_middle_names,
        ambiguous_twins=cl.ambiguous_twins,
        ambiguous_middle_names_kept=cl.ambiguous_middle_names_kept,
        ambiguity_detached_support=cl.ambiguity_detached_support,
        index_ambiguous_placeless=cl.index_ambiguous_placeless,
        typical_parent_gap=cl.typical_parent_gap_years,
        namesake_generation_gap=cl.namesake_generation_years,
        namesake_max_lag=cl.namesake_max_lag_bits,
        place_gate=cl.place_gate,
        gate_yields_to=tuple(cl.gate_yields_to),
        gate_yields_within_index=cl.gate_yields_within_index,
        gate_yields_dob_levels=tuple(cl.gate_yields_dob_levels),
        alias_corroborates=cl.alias_corroborates,
        alias_dob_levels=tuple(cl.alias_dob_levels),
        alias_distinct_surnames_jw=cl.alias_distinct_surnames_jw,
        alias_distinct_surnames_vowels=cl.alias_distinct_surnames_vowels,
        alias_home_check=cl.alias_home_check,
        alias_home_check_jw=cl.alias_home_check_jw,
        alias_home_check_own_dob=cl.alias_home_check_own_dob,
        alias_dob_no_decade_slip=cl.alias_dob_no_decade_slip,
        guard_generation_one_side=gd.generation_suffix_one_side,
        guard_index_twins=gd.index_twins_middle_name,
        guard_index_twins_spellings=gd.index_twins_middle_name_spellings,
        guard_middle_name_twin_on_file=gd.middle_name_twin_on_file,
        guard_index_twins_anywhere=gd.index_twins_middle_name_anywhere,
        guard_index_twins_forename=gd.index_twins_forename,
        guard_postcode_other_address=gd.postcode_other_address,
        guard_middle_names_differ=gd.middle_names_differ,
        guard_household_typo_any_index=gd.household_typo_any_index,
        guard_index_twins_forename_anywhere=gd.index_twins_forename_anywhere,
        guard_index_suffix_namesakes=gd.index_suffix_namesakes,
        guard_index_namesakes_slip_generation=gd.index_namesakes_slip_generation,
        guard_household_name_order=gd.household_name_order,
        guard_name_order_stem=gd.household_name_order_stem,
        guard_index_namesakes=tuple(gd.index_namesakes_at_home),
        guard_reviewable=tuple(dict.fromkeys(gd.reviewable)),
        guard_index_namesakes_surname_levels=tuple(gd.index_namesakes_surname_levels),
        guard_index_namesakes_alias_jw=gd.index_namesakes_alias_jw,
        guard_index_household_typo_levels=tuple(gd.index_household_typo_levels),
        guard_nickname_typo_edits=gd.nickname_typo_edits,
        place_corroboration=cl.place_corroboration,
        corroborate_within_household=cl.corroborate_within_household,
        gate_kin_namesake_places=cl.gate_kin_namesake_places,
        gate_kin_namesake_own_surname=cl.gate_kin_namesake_own_surname,
        gate_kin_own_surname_full_match=cl.gate_kin_own_surname_full_match,
        index_move_kin_ignores=tuple(cl.index_move_kin_ignores),
        raw=raw,
    )


def load_spec(path: str | Path | None = None) -> Spec:
    """Load a spec file (the packaged ``default.toml`` when ``path`` is None)."""
    p = Path(path) if path is not None else DEFAULT_SPEC_PATH
    try:
        with p.open("rb") as f:
            raw = tomllib.load(f)
    except OSError as e:
        raise SpecError(f"cannot read the linkage spec {p}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"the linkage spec {p} is not valid TOML: {e}") from None
    return spec_from_dict(raw)


def loads_spec(text: str) -> Spec:
    """Parse a spec from TOML text."""
    return spec_from_dict(tomllib.loads(text))
