"""The extract formats of ``docs/extracts.md`` as data.

One :class:`FileSpec` per CSV file of each agency: columns, which are required,
which hold dates, date-times, booleans and enum values, and which reference ids
in another file of the same extract. The generator writes from these specs and
the validator checks against them, so the two cannot drift apart. The loader reads
its own copy of the columns and their types from the default mappings in
``loaders/*.toml``; ``tests/unit/contract/test_loaders_match_contract.py`` keeps
that copy equal to these specs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cpgraph.keys import record_key as make_key

GENDER = frozenset({"M", "F", "U", "X"})


@dataclass(frozen=True)
class Ref:
    """A column holding the id of a row of another file in the same extract."""

    column: str
    target_file: str
    required: bool


@dataclass(frozen=True)
class FileSpec:
    """One CSV file of an agency extract."""

    name: str
    columns: tuple[str, ...]
    required: frozenset[str]
    kind: str | None = None  # person-mention kind, None for event/link files
    id_column: str | None = None  # the local id column of person mentions / referenced ids
    dates: frozenset[str] = frozenset()
    datetimes: frozenset[str] = frozenset()
    booleans: frozenset[str] = frozenset()
    enums: dict[str, frozenset[str]] = field(default_factory=dict)
    integers: frozenset[str] = frozenset()
    refs: tuple[Ref, ...] = ()
    upper_id: bool = False  # local id is upper-cased (pupils' UPN)
    repeated_ids: bool = False  # the same id on many rows is expected (visits)
    # Columns naming one row, when not just id_column (docs/extracts.md "One row per key")
    row_key: tuple[str, ...] = ()

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The columns whose values name one row: two rows with the same are duplicates."""
        if self.row_key:
            return self.row_key
        return (self.id_column,) if self.id_column and not self.repeated_ids else ()

    @property
    def max_lengths(self) -> dict[str, int]:
        """The longest value of each column (characters, trimmed): see :data:`FIELD_LIMITS`."""
        return {col: max_length(col) for col in self.columns}


def _fs(*names: str) -> frozenset[str]:
    return frozenset(names)


OCCURRENCE_TYPES = _fs(
    "domestic_abuse",
    "assault",
    "child_neglect",
    "child_sexual_exploitation",
    "missing_person",
    "concern_for_welfare",
    "breach_of_order",
    "restraining_order",
    "clares_law_disclosure",
    "other",
)
POLICE_ROLES = _fs(
    "victim", "suspect", "offender", "witness", "reporting_person", "child_present", "subject"
)
RELATIONSHIP_TO_VICTIM = _fs(
    "partner",
    "ex_partner",
    "parent",
    "step_parent",
    "child",
    "sibling",
    "relative",
    "friend",
    "none",
)
EDU_RELATIONSHIPS = _fs(
    "mother",
    "father",
    "step_mother",
    "step_father",
    "partner_of_parent",
    "grandparent",
    "aunt_uncle",
    "carer",
    "foster_carer",
    "sibling",
    "other",
)
RAISED_BY_ROLES = _fs("teacher", "dsl", "teaching_assistant", "other_staff", "parent", "relative")
CONCERN_CATEGORIES = _fs(
    "physical_injury", "neglect", "emotional", "sexual", "domestic_abuse", "attendance", "other"
)
CS_RELATIONSHIPS = _fs(
    "mother",
    "father",
    "step_parent",
    "partner_of_parent",
    "grandparent",
    "aunt_uncle",
    "sibling",
    "carer",
    "other",
)
REFERRAL_SOURCES = _fs(
    "1A",
    "1B",
    "1C",
    "1D",
    "2A",
    "2B",
    "3A",
    "3B",
    "3C",
    "3D",
    "3E",
    "3F",
    "4",
    "5A",
    "5B",
    "5C",
    "5D",
    "6",
    "7",
    "8",
    "9",
    "10",
)
REFERRAL_OUTCOMES = _fs(
    "no_further_action", "early_help", "assessment", "strategy_discussion", "section_47"
)
CP_CATEGORIES = _fs("neglect", "physical_abuse", "emotional_abuse", "sexual_abuse", "multiple")
OFFENCE_CATEGORIES = _fs("violence", "domestic_abuse", "sexual", "drugs", "acquisitive", "other")
PRISON_RELATIONSHIPS = _fs(
    "partner",
    "wife",
    "husband",
    "mother",
    "father",
    "child",
    "step_child",
    "partner_child",
    "sibling",
    "grandchild",
    "friend",
    "other",
)

POLICE = (
    FileSpec(
        "nominals.csv",
        (
            "nominal_id",
            "pnc_id",
            "cro_number",
            "forename",
            "middle_names",
            "surname",
            "aliases",
            "date_of_birth",
            "gender",
            "address",
            "postcode",
        ),
        _fs("nominal_id", "forename", "surname"),
        kind="nominal",
        id_column="nominal_id",
        dates=_fs("date_of_birth"),
        enums={"gender": _fs("M", "F", "U")},
    ),
    FileSpec(
        "occurrences.csv",
        (
            "occurrence_id",
            "occurrence_type",
            "occurred_at",
            "address",
            "postcode",
            "dash_risk",
            "marac_referral",
            "children_present",
            "summary",
        ),
        _fs("occurrence_id", "occurrence_type", "occurred_at"),
        id_column="occurrence_id",
        datetimes=_fs("occurred_at"),
        booleans=_fs("marac_referral", "children_present"),
        enums={"occurrence_type": OCCURRENCE_TYPES, "dash_risk": _fs("standard", "medium", "high")},
    ),
    FileSpec(
        "involvements.csv",
        ("occurrence_id", "nominal_id", "role", "relationship_to_victim"),
        _fs("occurrence_id", "nominal_id", "role"),
        enums={"role": POLICE_ROLES, "relationship_to_victim": RELATIONSHIP_TO_VICTIM},
        refs=(
            Ref("occurrence_id", "occurrences.csv", True),
            Ref("nominal_id", "nominals.csv", True),
        ),
    ),
)

EDUCATION = (
    FileSpec(
        "pupils.csv",
        (
            "upn",
            "former_upn",
            "forename",
            "middle_names",
            "surname",
            "former_surname",
            "date_of_birth",
            "gender",
            "school_urn",
            "school_name",
            "admission_date",
            "leaving_date",
            "address",
            "postcode",
        ),
        _fs("upn", "forename", "surname", "date_of_birth"),
        kind="pupil",
        id_column="upn",
        upper_id=True,
        dates=_fs("date_of_birth", "admission_date", "leaving_date"),
        enums={"gender": GENDER},
    ),
    FileSpec(
        "contacts.csv",
        (
            "contact_id",
            "upn",
            "forename",
            "surname",
            "relationship",
            "parental_responsibility",
            "lives_with_pupil",
            "address",
            "postcode",
            "priority",
        ),
        _fs("contact_id", "upn", "forename", "surname", "relationship"),
        kind="contact",
        id_column="contact_id",
        booleans=_fs("parental_responsibility", "lives_with_pupil"),
        enums={"relationship": EDU_RELATIONSHIPS},
        integers=_fs("priority"),
        refs=(Ref("upn", "pupils.csv", True),),
    ),
    FileSpec(
        "attendance.csv",
        (
            "upn",
            "term",
            "sessions_possible",
            "sessions_authorised_absence",
            "sessions_unauthorised_absence",
        ),
        _fs("upn", "term", "sessions_possible"),
        row_key=("upn", "term"),
        integers=_fs(
            "sessions_possible", "sessions_authorised_absence", "sessions_unauthorised_absence"
        ),
        refs=(Ref("upn", "pupils.csv", True),),
    ),
    FileSpec(
        "exclusions.csv",
        ("upn", "start_date", "category", "sessions", "reason"),
        _fs("upn", "start_date", "category"),
        row_key=("upn", "start_date", "category"),
        dates=_fs("start_date"),
        enums={"category": _fs("suspension", "permanent")},
        integers=_fs("sessions"),
        refs=(Ref("upn", "pupils.csv", True),),
    ),
    FileSpec(
        "concerns.csv",
        (
            "concern_id",
            "upn",
            "raised_at",
            "raised_by_role",
            "raised_by_contact_id",
            "category",
            "summary",
            "referred_to_childrens_services",
        ),
        _fs("concern_id", "upn", "raised_at", "raised_by_role", "category"),
        id_column="concern_id",
        datetimes=_fs("raised_at"),
        booleans=_fs("referred_to_childrens_services"),
        enums={"raised_by_role": RAISED_BY_ROLES, "category": CONCERN_CATEGORIES},
        refs=(Ref("upn", "pupils.csv", True), Ref("raised_by_contact_id", "contacts.csv", False)),
    ),
)

CHILDRENS_SERVICES = (
    FileSpec(
        "persons.csv",
        (
            "person_id",
            "upn",
            "nhs_number",
            "forename",
            "middle_names",
            "surname",
            "date_of_birth",
            "gender",
            "address",
            "postcode",
        ),
        _fs("person_id", "forename", "surname"),
        kind="person",
        id_column="person_id",
        dates=_fs("date_of_birth"),
        enums={"gender": GENDER},
    ),
    FileSpec(
        "relationships.csv",
        (
            "person_id",
            "related_person_id",
            "relationship",
            "from_date",
            "to_date",
            "lives_with_child",
        ),
        _fs("person_id", "related_person_id", "relationship"),
        dates=_fs("from_date", "to_date"),
        booleans=_fs("lives_with_child"),
        enums={"relationship": CS_RELATIONSHIPS},
        refs=(Ref("person_id", "persons.csv", True), Ref("related_person_id", "persons.csv", True)),
    ),
    FileSpec(
        "referrals.csv",
        (
            "referral_id",
            "child_person_id",
            "referral_date",
            "source",
            "referrer_person_id",
            "referrer_name",
            "summary",
            "nfa",
            "outcome",
        ),
        _fs("referral_id", "child_person_id", "referral_date", "source"),
        id_column="referral_id",
        dates=_fs("referral_date"),
        booleans=_fs("nfa"),
        enums={"source": REFERRAL_SOURCES, "outcome": REFERRAL_OUTCOMES},
        refs=(
            Ref("child_person_id", "persons.csv", True),
            Ref("referrer_person_id", "persons.csv", False),
        ),
    ),
    FileSpec(
        "assessments.csv",
        ("assessment_id", "child_person_id", "start_date", "completed_date", "factors", "outcome"),
        _fs("assessment_id", "child_person_id", "start_date"),
        id_column="assessment_id",
        dates=_fs("start_date", "completed_date"),
        refs=(Ref("child_person_id", "persons.csv", True),),
    ),
    FileSpec(
        "cp_plans.csv",
        ("plan_id", "child_person_id", "start_date", "end_date", "category"),
        _fs("plan_id", "child_person_id", "start_date", "category"),
        id_column="plan_id",
        dates=_fs("start_date", "end_date"),
        enums={"category": CP_CATEGORIES},
        refs=(Ref("child_person_id", "persons.csv", True),),
    ),
)

PRISONS = (
    FileSpec(
        "prisoners.csv",
        (
            "prison_number",
            "booking_id",
            "pnc_id",
            "forename",
            "middle_names",
            "surname",
            "aliases",
            "date_of_birth",
            "gender",
            "prison_code",
            "reception_date",
            "release_date",
            "release_address",
            "release_postcode",
            "offence_category",
            "child_contact_restriction",
        ),
        _fs("prison_number", "forename", "surname", "date_of_birth"),
        kind="prisoner",
        id_column="prison_number",
        dates=_fs("date_of_birth", "reception_date", "release_date"),
        booleans=_fs("child_contact_restriction"),
        enums={"gender": GENDER, "offence_category": OFFENCE_CATEGORIES},
    ),
    FileSpec(
        "contacts.csv",
        (
            "contact_id",
            "prison_number",
            "forename",
            "surname",
            "date_of_birth",
            "relationship",
            "address",
            "postcode",
            "approved_visitor",
            "next_of_kin",
        ),
        _fs("contact_id", "prison_number", "forename", "surname", "relationship"),
        kind="contact",
        id_column="contact_id",
        dates=_fs("date_of_birth"),
        booleans=_fs("approved_visitor", "next_of_kin"),
        enums={"relationship": PRISON_RELATIONSHIPS},
        refs=(Ref("prison_number", "prisoners.csv", True),),
    ),
    FileSpec(
        "visits.csv",
        (
            "visit_id",
            "prison_number",
            "visit_date",
            "visitor_id",
            "forename",
            "surname",
            "date_of_birth",
            "relationship",
        ),
        _fs("visit_id", "prison_number", "visit_date", "visitor_id", "forename", "surname"),
        kind="visitor",
        id_column="visitor_id",
        repeated_ids=True,
        row_key=("visit_id", "visitor_id"),
        dates=_fs("visit_date", "date_of_birth"),
        enums={"relationship": PRISON_RELATIONSHIPS},
        refs=(Ref("prison_number", "prisoners.csv", True),),
    ),
)

#: CSV files per agency, in dependency order (referenced files first).
CSV_FILES: dict[str, tuple[FileSpec, ...]] = {
    "police": POLICE,
    "education": EDUCATION,
    "childrens_services": CHILDRENS_SERVICES,
    "prisons": PRISONS,
    "health": (),
}

#: FHIR resource types read from health bundles, with the mention kind they carry.
FHIR_RESOURCES: dict[str, str | None] = {
    "Patient": "patient",
    "RelatedPerson": "related_person",
    "Encounter": None,
    "Flag": None,
}

#: Every FHIR element the health loader reads, as the named column it becomes
#: (path syntax in ``loaders/README.md``); the default health mapping reads
#: exactly these (``tests/unit/contract/test_loaders_match_contract.py``).
FHIR_COLUMNS: dict[str, dict[str, str]] = {
    "Patient": {
        "id": "id",
        "nhs_number": "identifier[system=https://fhir.nhs.uk/Id/nhs-number].value",
        "forename": "name[0].given[0]",
        "middle_names": "name[0].given[1:]",
        "surname": "name[0].family",
        # a name the person was known by before marriage (UK Core HumanName.use)
        "former_surname": "name[use=maiden].family",
        "birth_date": "birthDate",
        "gender": "gender",
        "address": "address[0].line|join:, ",
        "postcode": "address[0].postalCode",
    },
    "RelatedPerson": {
        "id": "id",
        "patient": "patient.reference|ref:Patient",
        "code": "relationship[0].coding[system=http://terminology.hl7.org/CodeSystem/v3-RoleCode].code|or:relationship[0].coding[0].code",
        "text": "relationship[0].text",
        "forename": "name[0].given[0]",
        "middle_names": "name[0].given[1:]",
        "surname": "name[0].family",
        # a name the person was known by before marriage (UK Core HumanName.use)
        "former_surname": "name[use=maiden].family",
        "birth_date": "birthDate",
        "gender": "gender",
        "address": "address[0].line|join:, ",
        "postcode": "address[0].postalCode",
    },
    "Encounter": {
        "id": "id",
        "class": "class.code",
        "subject": "subject.reference|ref:Patient",
        "start": "period.start",
        "reason": "reasonCode[0].text",
        "snomed": "reasonCode[0].coding[0].code",
        "escort": "participant[*].individual.reference|ref:RelatedPerson",
    },
    "Flag": {
        "id": "id",
        "subject": "subject.reference|ref:Patient",
        "code": "code.text",
        "start": "period.start",
        "end": "period.end",
        "author": "author.display",
    },
}

# -- field lengths --------------------------------------------------------------------
#
# Every field has a maximum length (characters, after trimming); a longer value
# makes its row an error (``too_long``: quarantined, never loaded). Unbounded
# values reach the store's indexes and uniqueness checks (a record id or an
# address of ~4,500 characters crashes FalkorDB's constraint check), so the
# bounds are set well above any real value and well below that:
#
# - ``name`` 100: one name part; the longest registered UK names are under 70.
# - ``names`` 500: a ``;``-separated list of aliases (five full-length names).
# - ``address`` 300: an address line as one text (PAF lines total under 200).
# - ``organisation`` 200: a school's or council's display name.
# - ``postcode`` 16: a UK postcode is at most 8 characters with its space.
# - ``id`` 64: local ids, identifiers and references (FHIR's own id limit is 64).
# - ``code`` 64: enums, dates, date-times, booleans, integers and other codes.
# - ``text`` 10,000: free text (summaries, reasons); also any column not listed.

#: The longest value of each kind of field.
FIELD_LIMITS: dict[str, int] = {
    "name": 100,
    "names": 500,
    "address": 300,
    "organisation": 200,
    "postcode": 16,
    "id": 64,
    "code": 64,
    "text": 10_000,
}

_KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("forename", "middle_names", "surname", "former_surname", "referrer_name"),
    "names": ("aliases",),
    "address": ("address", "release_address"),
    "organisation": ("school_name", "author"),
    "postcode": ("postcode", "release_postcode"),
    "id": (
        "nominal_id",
        "pnc_id",
        "cro_number",
        "occurrence_id",
        "upn",
        "former_upn",
        "school_urn",
        "contact_id",
        "concern_id",
        "raised_by_contact_id",
        "person_id",
        "nhs_number",
        "related_person_id",
        "referral_id",
        "child_person_id",
        "referrer_person_id",
        "assessment_id",
        "plan_id",
        "prison_number",
        "booking_id",
        "prison_code",
        "visit_id",
        "visitor_id",
        "id",
        "patient",
        "subject",
        "escort",
    ),
    "code": (
        "gender",
        "date_of_birth",
        "occurrence_type",
        "occurred_at",
        "dash_risk",
        "marac_referral",
        "children_present",
        "role",
        "relationship_to_victim",
        "admission_date",
        "leaving_date",
        "relationship",
        "parental_responsibility",
        "lives_with_pupil",
        "priority",
        "term",
        "sessions_possible",
        "sessions_authorised_absence",
        "sessions_unauthorised_absence",
        "start_date",
        "category",
        "sessions",
        "raised_at",
        "raised_by_role",
        "referred_to_childrens_services",
        "from_date",
        "to_date",
        "lives_with_child",
        "referral_date",
        "source",
        "nfa",
        "outcome",
        "completed_date",
        "end_date",
        "reception_date",
        "release_date",
        "offence_category",
        "child_contact_restriction",
        "approved_visitor",
        "next_of_kin",
        "visit_date",
        "birth_date",
        "code",
        "class",
        "start",
        "end",
        "snomed",
    ),
    "text": ("summary", "reason", "factors", "text"),
}

#: The kind of every column of the contract (CSV and FHIR): see :data:`FIELD_LIMITS`.
COLUMN_KINDS: dict[str, str] = {col: kind for kind, cols in _KIND_COLUMNS.items() for col in cols}


def max_length(column: str) -> int:
    """The longest value ``column`` may hold (characters, trimmed); free text if unlisted."""
    return FIELD_LIMITS[COLUMN_KINDS.get(column, "text")]


NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
RELATED_PERSON_CODES = _fs(
    "MTH", "FTH", "STPMTH", "STPFTH", "GRMTH", "GRFTH", "SIB", "FAMMEMB", "FRND"
)
ENCOUNTER_CLASSES = _fs("EMER", "AMB", "HH")
FLAG_TEXTS = _fs("Child Protection Plan", "Looked After Child", "Unborn Child Protection Plan")


def file_spec(agency: str, name: str) -> FileSpec:
    """Return the spec of one CSV file of an agency extract.

    Raises:
        KeyError: if the agency has no such file.
    """
    for spec in CSV_FILES[agency]:
        if spec.name == name:
            return spec
    raise KeyError(f"{agency}/{name}")


def record_key(system: str, kind: str, local_id: str, upper: bool = False) -> str:
    """Build a record key ``{system}:{kind}:{local_id}`` from an id as written.

    The id is trimmed (and upper-cased for pupils' UPN, ``upper=True``).
    """
    lid = local_id.strip()
    if upper:
        lid = lid.upper()
    return make_key(system, kind, lid)
