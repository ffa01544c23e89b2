"""Fuzzy person search: full-text candidates, re-ranked with name, DOB and postcode.

The full-text index on source-record names (one per dialect) finds candidate
mentions by name: exact, phonetic (FalkorDB's double-metaphone field), fuzzy
(edit distance 1) and nickname variants. Candidates are then scored in Python
with rapidfuzz and date/postcode agreement levels and grouped by person.

`find_candidates` keeps this cheap on a large store. Its first query
(`search_person_candidates`) requires every searched name token, each as any of
its exact, fuzzy, phonetic or nickname forms, which matches a few dozen mentions
instead of thousands. It takes the best hits of that twice, once counting only
the tokens as spelt (a full-text score favours rare terms, so typos, sound-alikes
and rarer nicknames would otherwise crowd the exact matches out), and in the same
round trip the mentions recorded with the searched date of birth (or its
day/month transposition) from the date index, so a changed surname or a badly
misspelt name is still found. Only when that finds nobody who matches well does
a second query widen the net: any token as spelt (OR), or every token at edit
distance 2 (transposed letters). Both return only the columns ranking needs;
display data is loaded later, for the page returned. (OR-ing the fuzzy forms of
all tokens, as the search first did, matches thousands of mentions of a common
forename and costs 10-40 ms on 100k persons.)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from functools import lru_cache

from nicknames import NickNamer
from rapidfuzz import fuzz

from cpgraph.graphql.data import RecordData, parse_date
from cpgraph.linkage.comparisons import NamePairs
from cpgraph.store import GraphStore

MAX_TOKENS = 6
MAX_VARIANTS = 6
FUZZY_MIN_LEN = 4  # tokens this long match at edit distance 1
FUZZY2_MIN_LEN = 5  # and, when a search is widened, this long at distance 2
_WORD_RE = re.compile(r"[a-z]+")

WEIGHT_NAME, WEIGHT_DOB, WEIGHT_POSTCODE = 0.6, 0.25, 0.15

STRICT_CANDIDATES = 50  # mentions matching every token, best full-text score first
DOB_CANDIDATES = 50  # mentions recorded with the searched date (or transposed)
WIDER_CANDIDATES = 100  # per arm of the wider query, when the first falls short
GOOD_SCORE = 0.8  # a first-query candidate this good: no wider query
DOB_ONLY_MIN_NAME = 0.5  # a mention found by its date alone must look like the name
_CANDIDATE_COLUMNS = ("key", "forename", "surname", "aliases", "name_text", "dob", "postcode")


class Agreement(Enum):
    """How well a recorded value agrees with the searched one."""

    EXACT = "EXACT"
    TRANSPOSED = "TRANSPOSED"  # day and month swapped
    CLOSE = "CLOSE"  # one component differs (typo, year off)
    PARTIAL = "PARTIAL"  # same postcode sector / same year of birth
    DISTRICT = "DISTRICT"  # same postcode district
    DIFFERENT = "DIFFERENT"
    UNKNOWN = "UNKNOWN"  # not recorded
    NOT_ASKED = "NOT_ASKED"  # not part of the search


_AGREEMENT_SCORE = {
    Agreement.EXACT: 1.0,
    Agreement.TRANSPOSED: 0.8,
    Agreement.CLOSE: 0.6,
    Agreement.PARTIAL: 0.6,
    Agreement.DISTRICT: 0.35,
    Agreement.DIFFERENT: 0.0,
    Agreement.UNKNOWN: 0.3,
}


def name_tokens(name: str) -> list[str]:
    """Lower-case ASCII letter runs of a name (accents folded), at most MAX_TOKENS."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return _WORD_RE.findall(folded.lower())[:MAX_TOKENS]


@lru_cache(maxsize=1)
def _namer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=4096)
def nickname_variants(token: str, learned: NamePairs = ()) -> tuple[str, ...]:
    """Other forms of a forename (Bob → Robert, Jon → John...), a few at most.

    Args:
        token: a searched name token.
        learned: forename pairs the last linkage run learned from the agencies' own
            records (Kasia/Katarzyna, Mo/Mohammed), so search knows what linkage knows.
    """
    namer = _namer()
    variants = (namer.canonicals_of(token) | namer.nicknames_of(token)) - {token}
    ours = {b if a == token else a for a, b in learned if token in (a, b)} - {token}
    found = sorted(ours) + sorted(v for v in variants - ours if v.isalpha())
    return tuple(found[:MAX_VARIANTS])


_NOT_PHONETIC = " => { $phonetic: false; }"  # RediSearch: this term only, not its sound


def _token_terms(
    dialect: str,
    token: str,
    tokens: list[str],
    *,
    exact: bool,
    max_edits: int,
    learned: NamePairs = (),
) -> list[str]:
    """A token's full-text terms: the token as spelt (exact), or fuzzy, with its nicknames."""
    if exact:  # on FalkorDB the attribute only holds on a single term
        return [f"({token}){_NOT_PHONETIC}" if dialect == "falkordb" else token]
    edits = 0
    if len(token) >= FUZZY2_MIN_LEN:
        edits = max_edits
    elif len(token) >= FUZZY_MIN_LEN:
        edits = min(max_edits, 1)
    if dialect == "falkordb":
        terms = [f"{'%' * edits}{token}{'%' * edits}"]
    else:
        terms = [f"{token}~{edits}" if edits else token]
    terms.extend(v for v in nickname_variants(token, learned) if v not in tokens)
    return list(dict.fromkeys(terms))


def fulltext_text(
    dialect: str,
    tokens: list[str],
    *,
    require_all: bool = False,
    exact: bool = False,
    max_edits: int = 1,
    learned: NamePairs = (),
) -> str:
    """Build the full-text query string for a dialect.

    Tokens are `[a-z]+` only, so no query-syntax characters can get in.
    FalkorDB (RediSearch): `%term%` is a fuzzy match at edit distance 1 (`%%term%%`
    at 2), `|` is OR and a space AND; plain terms also match phonetically (the
    field is double-metaphone) unless marked `$phonetic: false`. Neo4j (Lucene):
    `term~1` is fuzzy, with `OR`/`AND`.

    Args:
        dialect: `falkordb` or `neo4j`.
        tokens: the searched name tokens (from `name_tokens`).
        require_all: every token of two letters or more must match, as any of
            its forms; initials are left to the ranking. Without it any term
            may match. Falls back to the OR form when no token is long enough.
        exact: only the tokens as spelt: no fuzzy, phonetic or nickname forms.
            A full-text score favours rare terms, so typos, sound-alikes and
            rarer nicknames would otherwise crowd exact matches out of a cut-off.
        max_edits: the edit distance of fuzzy forms for tokens of five letters or
            more (1 or 2; four-letter tokens stay at 1, shorter ones at 0).
        learned: the last linkage run's learned forename pairs (see `nickname_variants`).

    Returns:
        The query text (empty only when `tokens` is).
    """
    if require_all:
        groups = [
            _token_terms(dialect, t, tokens, exact=exact, max_edits=max_edits, learned=learned)
            for t in dict.fromkeys(tokens)
            if len(t) > 1
        ]
        if len(groups) > 1:
            if dialect == "falkordb":
                return " ".join(f"({' | '.join(g)})" for g in groups)
            return " AND ".join(f"({' OR '.join(g)})" for g in groups)
        if groups:  # one group: the OR of its forms
            tokens = [t for t in tokens if len(t) > 1]
    terms = [
        term
        for token in dict.fromkeys(tokens)
        for term in _token_terms(
            dialect, token, tokens, exact=exact, max_edits=max_edits, learned=learned
        )
    ]
    joiner = " | " if dialect == "falkordb" else " OR "
    return joiner.join(dict.fromkeys(terms))


def dob_variants(asked: date | None) -> list[str]:
    """ISO dates a record may carry for a searched DOB: as asked and day/month transposed."""
    if asked is None:
        return []
    out = [asked.isoformat()]
    if asked.day <= 12 and asked.day != asked.month:
        out.append(date(asked.year, asked.day, asked.month).isoformat())
    return out


def dob_agreement(asked: date | None, recorded: str | None) -> Agreement:
    """Agreement of a searched date of birth with a recorded one."""
    if asked is None:
        return Agreement.NOT_ASKED
    rec = parse_date(recorded)
    if rec is None:
        return Agreement.UNKNOWN
    if rec == asked:
        return Agreement.EXACT
    if (rec.year, rec.month, rec.day) == (asked.year, asked.day, asked.month):
        return Agreement.TRANSPOSED
    same = sum((rec.year == asked.year, rec.month == asked.month, rec.day == asked.day))
    if same == 2:
        return Agreement.CLOSE
    if rec.year == asked.year:
        return Agreement.PARTIAL
    return Agreement.DIFFERENT


def _postcode_parts(value: str) -> tuple[str, str] | None:
    compact = re.sub(r"[^A-Z0-9]", "", value.upper())
    if len(compact) < 5:
        return None
    return compact[:-3], compact[-3:]


def postcode_agreement(asked: str | None, recorded: str | None) -> Agreement:
    """Agreement of a searched postcode with a recorded one (unit, sector, district)."""
    if not asked:
        return Agreement.NOT_ASKED
    a = _postcode_parts(asked)
    r = _postcode_parts(recorded or "")
    if r is None:
        return Agreement.UNKNOWN
    if a is None:
        return Agreement.DIFFERENT
    if a == r:
        return Agreement.EXACT
    if a[0] == r[0] and a[1][0] == r[1][0]:
        return Agreement.PARTIAL
    if a[0] == r[0]:
        return Agreement.DISTRICT
    return Agreement.DIFFERENT


def _record_names(props: dict[str, object]) -> list[list[str]]:
    forename = name_tokens(str(props.get("forename") or ""))
    surname = name_tokens(str(props.get("surname") or ""))
    names = [forename + surname] if forename or surname else []
    if not names and props.get("name_text"):
        names.append(name_tokens(str(props["name_text"])))
    for alias in props.get("aliases") or []:
        names.append(name_tokens(str(alias)))
    return [n for n in names if n]


def name_score(query: list[str], props: dict[str, object], learned: NamePairs = ()) -> float:
    """0..1 similarity of a searched name to a record's names (best over aliases).

    The first searched token may match the record's forename as a nickname (the
    dataset's, or one of the `learned` pairs of the last linkage run).
    """
    best = 0.0
    q = " ".join(query)
    for tokens in _record_names(props):
        candidates = [tokens]
        if (
            query
            and tokens
            and query[0] != tokens[0]
            and (
                tokens[0] in nickname_variants(query[0], learned)
                or query[0] in nickname_variants(tokens[0], learned)
            )
        ):
            candidates.append([query[0], *tokens[1:]])
        for cand in candidates:
            r = " ".join(cand)
            score = max(fuzz.token_sort_ratio(q, r), 0.9 * fuzz.token_set_ratio(q, r)) / 100
            if cand is not tokens:
                score *= 0.97  # a nickname is nearly, not quite, the same name
            best = max(best, score)
    return best


@dataclass(slots=True)
class Candidate:
    """A person found by a search, with the evidence for its score."""

    person_id: str
    score: float
    name_score: float
    dob: Agreement
    postcode: Agreement
    record_keys: list[str] = field(default_factory=list)


def rank(
    query_tokens: list[str],
    dob: date | None,
    postcode: str | None,
    records: list[RecordData],
    *,
    min_score: float = 0.35,
    learned: NamePairs = (),
) -> list[Candidate]:
    """Score candidate records and group them by person, best first."""
    weights = WEIGHT_NAME + (WEIGHT_DOB if dob else 0) + (WEIGHT_POSTCODE if postcode else 0)
    by_person: dict[str, Candidate] = {}
    for record in records:
        if not record.person_id:
            continue
        ns = name_score(query_tokens, record.props, learned)
        d = dob_agreement(dob, record.props.get("dob"))  # type: ignore[arg-type]
        p = postcode_agreement(postcode, record.props.get("postcode"))  # type: ignore[arg-type]
        total = WEIGHT_NAME * ns
        if dob:
            total += WEIGHT_DOB * _AGREEMENT_SCORE[d]
        if postcode:
            total += WEIGHT_POSTCODE * _AGREEMENT_SCORE[p]
        score = round(total / weights, 4)
        if score < min_score:
            continue
        current = by_person.get(record.person_id)
        if current is None or score > current.score:
            keys = current.record_keys if current else []
            by_person[record.person_id] = Candidate(record.person_id, score, ns, d, p, keys)
        by_person[record.person_id].record_keys.append(record.key)
    ranked = sorted(by_person.values(), key=lambda c: (-c.score, c.person_id))
    for cand in ranked:
        cand.record_keys.sort()
    return ranked


def _records(
    rows: list[dict[str, object]], tokens: list[str], learned: NamePairs = ()
) -> dict[str, RecordData]:
    """Slim candidate rows as records by key; date-only ones must resemble the name."""
    found: dict[str, RecordData] = {}
    for row in rows:
        key = str(row["key"])
        if key in found:
            continue
        props = {col: row.get(col) for col in _CANDIDATE_COLUMNS}
        if row.get("via") == "dob" and name_score(tokens, props, learned) < DOB_ONLY_MIN_NAME:
            continue
        person_id = row.get("person_id")
        found[key] = RecordData(props=props, person_id=str(person_id) if person_id else None)
    return found


async def find_candidates(
    store: GraphStore,
    dialect: str,
    tokens: list[str],
    dob: date | None,
    postcode: str | None,
    learned: NamePairs = (),
) -> list[Candidate]:
    """Find and rank the persons a search may mean, in one store round trip or two.

    The first query asks for mentions matching every token (see the module
    docstring); only when nobody it finds scores `GOOD_SCORE` does a wider one
    run: any token as spelt, or every token at edit distance 2.

    Args:
        store: a started graph store.
        dialect: its Cypher dialect (decides the full-text syntax).
        tokens: the searched name tokens (from `name_tokens`, not empty).
        dob: the searched date of birth, if any.
        postcode: the searched postcode, if any.
        learned: the last linkage run's learned forename pairs: search finds the
            variants linkage joins (Kasia for Katarzyna).

    Returns:
        Candidates best first (see `rank`).
    """
    exact = fulltext_text(dialect, tokens, require_all=True, exact=True)
    text = fulltext_text(dialect, tokens, require_all=True, learned=learned)
    rows = await store.query(
        "search_person_candidates",
        exact=exact,
        text=text,
        limit=STRICT_CANDIDATES,
        dobs=dob_variants(dob),
        dob_limit=DOB_CANDIDATES,
    )
    records = _records(rows, tokens, learned)
    ranked = rank(tokens, dob, postcode, list(records.values()), learned=learned)
    # Wider: any token as spelt, or every token at edit distance 2 (transposed letters).
    any_exact = fulltext_text(dialect, tokens, exact=True)
    wider = fulltext_text(dialect, tokens, require_all=True, max_edits=2, learned=learned)
    if (ranked and ranked[0].score >= GOOD_SCORE) or (any_exact, wider) == (exact, text):
        return ranked
    more = await store.query(
        "search_person_candidates",
        exact=any_exact,
        text=wider,
        limit=WIDER_CANDIDATES,
        dobs=[],
        dob_limit=0,
    )
    records.update((k, r) for k, r in _records(more, tokens, learned).items() if k not in records)
    return rank(tokens, dob, postcode, list(records.values()), learned=learned)
