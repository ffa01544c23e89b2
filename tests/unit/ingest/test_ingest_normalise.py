"""Normalisation of names, dates, postcodes and identifiers."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.gb import nhs as stdnum_nhs

from cpgraph.contract.identifiers import pnc_check_letter
from cpgraph.ingest.engine import _render
from cpgraph.ingest.normalise import (
    clean_text,
    display_name,
    fold_code,
    name_order,
    normalise_nhs_number,
    normalise_pnc_id,
    normalise_postcode,
    normalise_upn,
    parse_bool,
    parse_date,
    parse_datetime,
    pnc_century,
    split_list,
    utc_timestamp,
)
from cpgraph.text import match_name


@pytest.mark.parametrize(
    ("raw", "display", "match"),
    [
        ("  zoë ", "zoë", "zoe"),
        ("Nowak-Łukasik", "Nowak-Łukasik", "nowak lukasik"),
        ("O'Neil", "O'Neil", "oneil"),
        ("O’Brien", "O’Brien", "obrien"),
        ("Siobhán  Mary", "Siobhán Mary", "siobhan mary"),
        ("JEAN-PAUL\t  de  la Tour", "JEAN-PAUL de la Tour", "jean paul de la tour"),
        ("Søren Ærø", "Søren Ærø", "soren aero"),
        ("Straße", "Straße", "strasse"),
    ],
)
def test_names_display_and_match_forms(raw: str, display: str, match: str) -> None:
    assert display_name(raw) == display
    assert match_name(raw) == match


def test_empty_names_are_none() -> None:
    assert display_name("   ") is None
    assert match_name("'-") is None
    assert match_name(None) is None


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2011-04-05", "2011-04-05"),
        ("05/04/2011", "2011-04-05"),
        ("5/4/2011", "2011-04-05"),
        (" 29/02/2024 ", "2024-02-29"),
        ("29/02/2023", None),
        ("2011-13-01", None),
        ("2011/04/05", None),
        ("04-05-2011", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_dates_iso_and_uk(raw: str, iso: str | None) -> None:
    assert parse_date(raw) == iso


def test_datetimes() -> None:
    assert parse_datetime("2025-06-01T21:30:00Z") == "2025-06-01T21:30:00+00:00"
    assert parse_datetime("2025-06-01 21:30") == "2025-06-01T21:30:00"
    assert parse_datetime("01/06/2025") == "2025-06-01T00:00:00"
    assert parse_datetime("2025-06-01T25:00") is None
    # a UK date with a local time, as UK case systems export it
    assert parse_datetime("01/06/2025 21:30") == "2025-06-01T21:30:00"
    assert parse_datetime(" 1/6/2025 09:05:07 ") == "2025-06-01T09:05:07"
    assert parse_datetime("31/06/2025 10:00") is None  # no 31 June
    assert parse_datetime("01/06/2025 24:00") is None
    assert parse_datetime("01/06/2025 10") is None
    assert parse_datetime("June 1st") is None
    assert utc_timestamp("2026-11-01T03:00:00+01:00") == "2026-11-01T02:00:00Z"


@pytest.mark.parametrize(
    ("raw", "canonical", "valid"),
    [
        ("b152tt", "B15 2TT", True),
        ("  sw1a   1aa ", "SW1A 1AA", True),
        ("M1 1AE", "M1 1AE", True),
        ("EC1A1BB", "EC1A 1BB", True),
        ("gir0aa", "GIR 0AA", True),
        ("NOTAPC", "NOTAPC", False),
        ("b15  2t", "B15 2T", False),
        ("", None, None),
    ],
)
def test_postcodes(raw: str, canonical: str | None, valid: bool | None) -> None:
    assert normalise_postcode(raw) == (canonical, valid)


def test_nhs_numbers_kept_and_flagged() -> None:
    assert normalise_nhs_number("943 476 5919") == ("9434765919", True)
    assert normalise_nhs_number("943-476-5919") == ("9434765919", True)
    assert normalise_nhs_number("9434765918") == ("9434765918", False)  # check digit
    assert normalise_nhs_number("94347A5919") == ("94347A5919", False)
    assert normalise_nhs_number(" ") == (None, None)


def test_upns_upper_cased_and_checked() -> None:
    upn, valid = normalise_upn(" a 801200001001 ")
    assert upn == "A801200001001"
    from stdnum.gb import upn as stdnum_upn

    assert valid == stdnum_upn.is_valid("A801200001001")
    assert normalise_upn("not-a-upn")[1] is False


def test_pnc_long_and_short_forms_agree() -> None:
    letter = pnc_check_letter(2004, 12345)
    long_form, valid = normalise_pnc_id(f"2004/0012345{letter}", 2026)
    short_form, valid_short = normalise_pnc_id(f"04/12345{letter.lower()}", 2026)
    assert long_form == short_form == f"2004/0012345{letter}"
    assert valid and valid_short
    wrong = "A" if letter != "A" else "B"
    assert normalise_pnc_id(f"2004/0012345{wrong}", 2026) == (f"2004/0012345{wrong}", False)
    assert normalise_pnc_id("garbage 1", 2026) == ("GARBAGE1", False)


def test_pnc_century_rule() -> None:
    assert pnc_century(26, 2026) == 2026
    assert pnc_century(27, 2026) == 1927
    assert pnc_century(99, 2026) == 1999
    assert normalise_pnc_id(f"95/1{pnc_check_letter(95, 1)}", 2026)[0].startswith("1995/")


def test_booleans_and_lists() -> None:
    assert [parse_bool(v) for v in ("true", "Y", "1", "FALSE", "n", "0", "maybe")] == [
        True,
        True,
        True,
        False,
        False,
        False,
        None,
    ]
    assert split_list(" Zoe Smith ;; Z  Nowak;") == ["Zoe Smith", "Z Nowak"]


@pytest.mark.parametrize(
    ("raw", "ordered"),
    [
        ("SMITH, John Paul", "John Paul SMITH"),  # surname first, as indexes write it
        ("Nowak-Lukasik,Zoe", "Zoe Nowak-Lukasik"),
        ("John Smith", "John Smith"),  # already forename first
        ("Smith", "Smith"),
        ("Smith,", "Smith,"),  # nothing after the comma: not a surname-first name
        (", John", ", John"),
        ("Smith, John, Jr", "Smith, John, Jr"),  # two commas: left as written
    ],
)
def test_alias_names_surname_first(raw: str, ordered: str) -> None:
    assert name_order(raw) == ordered


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(" \t\n\xa0\u2028\u3000-_aZé0123456789"), max_size=14))
def test_fast_paths_agree_with_the_reference(value: str) -> None:
    collapsed = re.sub(r"\s+", " ", value).strip() or None
    assert clean_text(value) == collapsed
    if collapsed is None:
        assert normalise_nhs_number(value) == (None, None)
        return
    compact = re.sub(r"[\s-]", "", collapsed).upper()
    expected = compact, compact.isdigit() and stdnum_nhs.is_valid(compact)
    assert normalise_nhs_number(value) == expected


def test_templates_render_like_the_regex() -> None:
    values = {"a": "x", "b": 3, "c": None, "d": True}
    for template in ("", "plain", "{a}", "{a}:{b}:{c}:{d}", "p{a}{a}q{zz}r", "{A}{a", "{}"):
        expected = re.sub(
            r"\{([a-z_][a-z0-9_]*)\}",
            lambda m: "" if values.get(m.group(1)) is None else str(values[m.group(1)]),
            template,
        )
        assert _render(template, values) == expected


def test_codes_fold_alike_whatever_their_case_and_separators() -> None:
    forms = ["domestic_abuse", "Domestic Abuse", "DOMESTIC-ABUSE", " domestic  _abuse "]
    assert {fold_code(f) for f in forms} == {"domestic_abuse"}
    assert fold_code("MTH") == fold_code("mth") != fold_code("FTH")
