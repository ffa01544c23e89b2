"""API pieces without a store: schema snapshot, policy coverage, purposes, search, cursors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from graphql import GraphQLObjectType, parse

from cpgraph.graphql.errors import BadInputError
from cpgraph.graphql.limits import ApiLimits
from cpgraph.graphql.pagination import decode_cursor, encode_cursor, paginate
from cpgraph.graphql.policy import POLICY, STRUCTURAL_SUFFIXES, allowed, inspect_document
from cpgraph.graphql.schema import build_schema, schema_sdl
from cpgraph.graphql.search import (
    DOB_CANDIDATES,
    STRICT_CANDIDATES,
    WIDER_CANDIDATES,
    Agreement,
    dob_agreement,
    dob_variants,
    find_candidates,
    fulltext_text,
    name_score,
    name_tokens,
    postcode_agreement,
)
from cpgraph.security.audit import GENESIS_HASH, entry_hash
from cpgraph.security.errors import PurposeRequiredError
from cpgraph.security.purpose import parse_purpose
from cpgraph.security.roles import Role

REPO = Path(__file__).resolve().parents[3]


def test_schema_matches_committed_sdl() -> None:
    committed = (REPO / "schema.graphql").read_text(encoding="utf-8")
    assert schema_sdl() == committed, (
        "the schema changed: review the change for partner systems, then regenerate with "
        'python -c "from cpgraph.graphql import schema_sdl; '
        "open('schema.graphql','w').write(schema_sdl())\""
    )


def _object_fields() -> list[tuple[str, str]]:
    schema = build_schema()._schema  # noqa: SLF001
    out = []
    for name, gtype in schema.type_map.items():
        if name.startswith("__") or not isinstance(gtype, GraphQLObjectType):
            continue
        out.extend((name, f) for f in gtype.fields)
    return out


def test_every_field_has_a_policy_entry() -> None:
    missing = [
        f"{t}.{f}"
        for t, f in _object_fields()
        if not t.endswith(STRUCTURAL_SUFFIXES) and f not in POLICY.get(t, {})
    ]
    assert not missing, f"fields without a permission entry (denied to all): {missing}"


def test_policy_names_only_real_fields() -> None:
    real = set(_object_fields())
    stale = [f"{t}.{f}" for t, fields in POLICY.items() for f in fields if (t, f) not in real]
    assert not stale


def test_default_deny_and_role_split() -> None:
    assert not allowed("Person", "noSuchField", Role.INVESTIGATOR)
    assert not allowed("NoSuchType", "id", Role.ADMIN)
    assert allowed("TimelineEvent", "summary", Role.INVESTIGATOR)
    assert not allowed("TimelineEvent", "summary", Role.PARTNER_SYSTEM)
    assert allowed("Person", "agencies", Role.PARTNER_SYSTEM)
    assert not any(allowed("Query", "person", r) for r in (Role.AUDITOR, Role.ADMIN))
    assert [r for r in Role if allowed("Query", "auditLog", r)] == [Role.AUDITOR]


def test_inspect_document_collects_fields_roots_and_denials() -> None:
    schema = build_schema()._schema  # noqa: SLF001
    doc = parse(
        '{ me { name } person(id: "x") { displayName timeline { totalCount '
        "edges { node { summary } } } } }"
    )
    access = inspect_document(schema, doc, Role.PARTNER_SYSTEM)
    assert access.roots == ["me", "person"]
    assert access.reads_person_data
    assert access.denied == ["TimelineEvent.summary"]
    assert "Person.displayName" in access.fields
    assert not any(f.startswith(("TimelineEventConnection", "PageInfo")) for f in access.fields)


@pytest.mark.parametrize(
    ("value", "case", "reason"),
    [
        ("CP-2024-0193; section 47 enquiry", "CP-2024-0193", "section 47 enquiry"),
        ("  MASH/123 ;  strategy   meeting ", "MASH/123", "strategy meeting"),
    ],
)
def test_purpose_parses(value: str, case: str, reason: str) -> None:
    purpose = parse_purpose(value)
    assert (purpose.case_reference, purpose.reason) == (case, reason)


@pytest.mark.parametrize(
    "value",
    [None, "", "CP-1", "CP-1;", "C; reason", "CP 1; reason", "CP-1; a\nb", "CP-1; " + "x" * 301],
)
def test_purpose_rejects(value: str | None) -> None:
    with pytest.raises(PurposeRequiredError) as info:
        parse_purpose(value)
    assert "X-Purpose" in str(info.value)
    if value and len(value) > 5:
        assert value not in str(info.value)  # never echoed


def test_fulltext_text_per_dialect_is_injection_free() -> None:
    tokens = name_tokens('Jon) | @x:{*} "Smyth"')
    assert tokens == ["jon", "x", "smyth"]
    falkor = fulltext_text("falkordb", tokens)
    assert "%smyth%" in falkor and "john" in falkor and " | " in falkor
    neo = fulltext_text("neo4j", tokens)
    assert "smyth~1" in neo and " OR " in neo
    for text in (falkor, neo):
        assert not set(text) & set('@{}()"*:')


def test_fulltext_text_require_all_ands_one_group_per_token() -> None:
    tokens = name_tokens("Bob J Smyth")
    falkor = fulltext_text("falkordb", tokens, require_all=True)
    groups = falkor.split(") (")
    assert len(groups) == 2  # the initial "j" is left to the ranking
    assert "bob" in groups[0] and "robert" in groups[0] and "smyth" not in groups[0]
    assert groups[1] == "%smyth%)"
    neo = fulltext_text("neo4j", tokens, require_all=True)
    assert neo.split(" AND ")[1] == "(smyth~1)"
    assert " OR " in neo.split(" AND ")[0]
    for text in (falkor, neo):
        assert not set(text) & set('@{}"*:')


def test_fulltext_text_require_all_falls_back_to_or_for_initials_only() -> None:
    assert fulltext_text("falkordb", ["j", "s"], require_all=True) == "j | s"
    # one token long enough: the OR of its forms, so AND and OR texts compare equal
    one = fulltext_text("falkordb", ["j", "jones"], require_all=True)
    assert one == fulltext_text("falkordb", ["jones"]) == "%jones%"


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        ("falkordb", "(%%jones%%) (%khan%) (fox)"),
        ("neo4j", "(jones~2) AND (khan~1) AND (fox)"),
    ],
)
def test_fulltext_text_two_edits_only_for_long_tokens(dialect: str, expected: str) -> None:
    tokens = ["jones", "khan", "fox"]  # no nickname forms
    assert fulltext_text(dialect, tokens, require_all=True, max_edits=2) == expected


def test_fulltext_text_exact_has_no_fuzzy_or_phonetic_forms() -> None:
    tokens = name_tokens("Bob Smyth")
    falkor = fulltext_text("falkordb", tokens, require_all=True, exact=True)
    assert "%" not in falkor
    # every term on its own, phonetic matching off ("Paul" sounds like "Bailey")
    # each token as spelt, phonetic matching off ("Paul" sounds like "Bailey"), and no
    # nicknames (rarer forms would outscore the spelling asked for)
    assert falkor == "((bob) => { $phonetic: false; }) ((smyth) => { $phonetic: false; })"
    assert fulltext_text("neo4j", tokens, exact=True) == "bob OR smyth"
    assert fulltext_text("neo4j", tokens, require_all=True, exact=True) == "(bob) AND (smyth)"


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        (date(2016, 4, 3), ["2016-04-03", "2016-03-04"]),
        (date(2016, 4, 13), ["2016-04-13"]),  # no 13th month
        (date(2016, 4, 4), ["2016-04-04"]),  # transposed is the same day
        (None, []),
    ],
)
def test_dob_variants(asked: date | None, expected: list[str]) -> None:
    assert dob_variants(asked) == expected


def _row(key: str, person: str, forename: str, surname: str, dob: str, via: str) -> dict:
    return {
        "key": key,
        "via": via,
        "forename": forename,
        "surname": surname,
        "aliases": None,
        "name_text": f"{forename} {surname}",
        "dob": dob,
        "postcode": None,
        "person_id": person,
    }


class _FakeStore:
    """Answers search_person_candidates from canned rows per full-text text."""

    def __init__(self, by_text: dict[str, list[dict]], by_dob: list[dict]) -> None:
        self.by_text, self.by_dob = by_text, by_dob  # by_text: fuzzy texts only
        self.calls: list[dict] = []

    async def query(self, name: str, /, **params: object) -> list[dict]:
        assert name == "search_person_candidates"
        self.calls.append(params)
        dob_rows = [r for r in self.by_dob if r["dob"] in params["dobs"]]
        return [*self.by_text.get(str(params["text"]), []), *dob_rows]


async def test_find_candidates_stops_after_a_good_strict_match() -> None:
    tokens = name_tokens("Lily Smith")
    strict = fulltext_text("falkordb", tokens, require_all=True)
    store = _FakeStore(
        {strict: [_row("a:1", "P1", "Lily", "Smith", "2016-04-03", "name")]},
        [_row("b:9", "P9", "Gemma", "Bradley", "2016-03-04", "dob")],  # same date, not the name
    )
    ranked = await find_candidates(store, "falkordb", tokens, date(2016, 4, 3), None)  # type: ignore[arg-type]
    assert [c.person_id for c in ranked] == ["P1"]
    assert store.calls == [
        {
            "exact": fulltext_text("falkordb", tokens, require_all=True, exact=True),
            "text": strict,
            "limit": STRICT_CANDIDATES,
            "dobs": ["2016-04-03", "2016-03-04"],
            "dob_limit": DOB_CANDIDATES,
        }
    ]


async def test_find_candidates_widens_and_keeps_date_matches() -> None:
    tokens = name_tokens("Lily Jones")  # married, now recorded as Smith
    wider = fulltext_text("falkordb", tokens, require_all=True, max_edits=2)
    assert wider.endswith(" (%%jones%%)") and wider.startswith("(%lily% | ")
    store = _FakeStore(
        {wider: [_row("c:2", "P2", "Lily", "Brown", "1990-01-01", "name")]},
        [_row("a:1", "P1", "Lily", "Smith", "2016-03-04", "dob")],
    )
    ranked = await find_candidates(store, "falkordb", tokens, date(2016, 4, 3), None)  # type: ignore[arg-type]
    assert len(store.calls) == 2
    assert store.calls[1] == {
        "exact": fulltext_text("falkordb", tokens, exact=True),  # OR: any token as spelt
        "text": wider,
        "limit": WIDER_CANDIDATES,
        "dobs": [],
        "dob_limit": 0,
    }
    assert ranked[0].person_id == "P1" and ranked[0].dob is Agreement.TRANSPOSED
    assert ranked[0].record_keys == ["a:1"]
    assert "P2" in [c.person_id for c in ranked]


def test_name_tokens_fold_accents() -> None:
    assert name_tokens("Zoë O'Brien-Smith") == ["zoe", "o", "brien", "smith"]


@pytest.mark.parametrize(
    ("asked", "recorded", "level"),
    [
        (date(2016, 4, 3), "2016-04-03", Agreement.EXACT),
        (date(2016, 4, 3), "2016-03-04", Agreement.TRANSPOSED),
        (date(2016, 4, 3), "2016-04-08", Agreement.CLOSE),
        (date(2016, 4, 3), "2015-04-03", Agreement.CLOSE),
        (date(2016, 4, 3), "2016-11-20", Agreement.PARTIAL),
        (date(2016, 4, 3), "1990-01-01", Agreement.DIFFERENT),
        (date(2016, 4, 3), None, Agreement.UNKNOWN),
        (None, "2016-04-03", Agreement.NOT_ASKED),
    ],
)
def test_dob_agreement(asked: date | None, recorded: str | None, level: Agreement) -> None:
    assert dob_agreement(asked, recorded) is level


@pytest.mark.parametrize(
    ("asked", "recorded", "level"),
    [
        ("ls62ab", "LS6 2AB", Agreement.EXACT),
        ("LS6 2XY", "LS6 2AB", Agreement.PARTIAL),
        ("LS6 9AB", "LS6 2AB", Agreement.DISTRICT),
        ("M1 1AA", "LS6 2AB", Agreement.DIFFERENT),
        ("LS6 2AB", None, Agreement.UNKNOWN),
    ],
)
def test_postcode_agreement(asked: str, recorded: str | None, level: Agreement) -> None:
    assert postcode_agreement(asked, recorded) is level


def test_name_score_handles_nicknames_aliases_and_order() -> None:
    rec = {"forename": "Robert", "surname": "Smith", "aliases": ["Bobby Jones"]}
    assert name_score(["bob", "smith"], rec) > 0.9
    assert name_score(["smith", "robert"], rec) == 1.0
    assert name_score(["bobby", "jones"], rec) == 1.0
    assert name_score(["alice", "brown"], rec) < 0.5


def test_cursors_are_opaque_and_kind_bound() -> None:
    cursor = encode_cursor("ev", "2024-01-01|e1")
    assert "2024" not in cursor
    assert decode_cursor("ev", cursor) == "2024-01-01|e1"
    with pytest.raises(BadInputError):
        decode_cursor("rel", cursor)
    with pytest.raises(BadInputError):
        decode_cursor("ev", "%%%")


def test_paginate_walks_every_item_once() -> None:
    items = [f"k{i:02d}" for i in range(7)]
    seen, after = [], None
    while True:
        page = paginate(items, kind="t", key=lambda s: s, first=3, after=after, cap=10)
        seen.extend(i for _, i in page.items)
        if not page.has_next:
            break
        after = page.items[-1][0]
    assert seen == items
    with pytest.raises(BadInputError):
        paginate(items, kind="t", key=lambda s: s, first=11, after=None, cap=10)


def test_entry_hash_covers_every_field() -> None:
    base = dict(
        seq=1,
        at="t",
        user="u",
        role="r",
        action="a",
        persons=["p"],
        records=[],
        fields=["f"],
        purpose="CP-1; x",
        prev_hash=GENESIS_HASH,
    )
    h = entry_hash(**base)
    assert len(h) == 64
    for name, value in [
        ("seq", 2),
        ("user", "v"),
        ("persons", ["q"]),
        ("purpose", None),
        ("prev_hash", "1" * 64),
        ("fields", []),
    ]:
        assert entry_hash(**{**base, name: value}) != h, name


def test_limits_read_settings_when_present() -> None:
    class S:
        api_max_depth = 5

    limits = ApiLimits.from_settings(S())
    assert limits.max_depth == 5 and limits.max_aliases == ApiLimits().max_aliases


def test_search_knows_the_forename_variants_linkage_learned() -> None:
    from cpgraph.graphql.search import fulltext_text, name_score, nickname_variants

    learned = (("kasia", "katarzyna"),)
    assert "katarzyna" not in nickname_variants("kasia")
    assert "katarzyna" in nickname_variants("kasia", learned)
    assert "kasia" in nickname_variants("katarzyna", learned)
    assert "katarzyna" not in fulltext_text("falkordb", ["kasia", "nowak"], require_all=True)
    assert "katarzyna" in fulltext_text(
        "falkordb", ["kasia", "nowak"], require_all=True, learned=learned
    )
    record = {"forename": "Katarzyna", "surname": "Nowak"}
    assert name_score(["kasia", "nowak"], record, learned) > name_score(["kasia", "nowak"], record)
