"""PNC / NHS / UPN identifier checks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cpgraph.contract.identifiers import (
    PNC_CHECK_ALPHABET,
    format_pnc,
    nhs_is_valid,
    pnc_canonical,
    pnc_check_letter,
    pnc_is_valid,
    upn_is_valid,
)
from cpgraph.generate.ids import Ids, nhs_check_digit


def test_pnc_check_letter_is_mod_23_of_short_form() -> None:
    # 12/0000001: 120000001 mod 23 = 120000001 - 23 * 5217391 = 8 -> "H"
    assert 120000001 % 23 == 8
    assert pnc_check_letter(2012, 1) == PNC_CHECK_ALPHABET[8] == "H"
    assert pnc_check_letter("12", "0000001") == "H"
    # remainder 0 maps to Z
    assert pnc_check_letter(0, 23) == "Z"


@given(st.integers(1900, 2099), st.integers(0, 9_999_999))
def test_formatted_pnc_validates_in_both_forms(year: int, serial: int) -> None:
    long_form = format_pnc(year, serial)
    short_form = format_pnc(year, serial, short=True)
    assert pnc_is_valid(long_form) and pnc_is_valid(short_form)
    assert pnc_is_valid(" " + long_form.lower() + " ")
    assert pnc_canonical(long_form) == pnc_canonical(short_form)


@given(st.integers(1900, 2099), st.integers(0, 9_999_998))
def test_pnc_wrong_serial_fails_check(year: int, serial: int) -> None:
    good = format_pnc(year, serial)
    bad = good[:-1] + pnc_check_letter(year, serial + 1)
    if bad != good:
        assert not pnc_is_valid(bad)
        assert pnc_canonical(bad) is None


def test_pnc_malformed() -> None:
    assert not pnc_is_valid("")
    assert not pnc_is_valid("2012/ABC")
    assert not pnc_is_valid("12-0000001H")


def test_allocated_identifiers_are_valid_and_unique() -> None:
    ids = Ids(9)
    nhs = [ids.nhs() for _ in range(2000)]
    assert all(nhs_is_valid(n) for n in nhs) and len(set(nhs)) == 2000
    upns = [ids.upn(330, 2016) for _ in range(2000)]
    assert all(upn_is_valid(u) for u in upns) and len(set(upns)) == 2000
    assert nhs_is_valid("943 476 5919")
    assert not nhs_is_valid("943 476 5918")
    assert nhs_check_digit("943476591") == 9
