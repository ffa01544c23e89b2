"""One owner each: record keys, event ids, person ids (cpgraph.keys) and cell values
(cpgraph.contract.values), read the same by the validator and the loaders."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from cpgraph.contract import validate
from cpgraph.contract.spec import record_key as contract_record_key
from cpgraph.contract.values import parse_bool, parse_date, parse_datetime
from cpgraph.ingest import normalise
from cpgraph.keys import (
    event_id,
    format_person_id,
    person_id_counter,
    record_key,
    split_key,
)


def test_record_keys_event_ids_and_person_ids() -> None:
    assert record_key("wmp-niche", "nominal", "NM1") == "wmp-niche:nominal:NM1"
    assert event_id("bham-cs", "referral", "R:7") == "bham-cs:referral:R:7"
    assert split_key("bham-cs:referral:R:7") == ("bham-cs", "referral", "R:7")
    with pytest.raises(ValueError):
        split_key("no-colons")
    # the contract trims (and upper-cases UPNs) before making the same key
    assert contract_record_key("bham-edu", "pupil", " k1 ", upper=True) == "bham-edu:pupil:K1"
    assert format_person_id(42) == "P0000000042" and person_id_counter("P0000000042") == 42
    assert person_id_counter("per-1") == 0


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("true", True), ("Y", True), ("Yes", True), ("1", True), (" n ", False), ("NO", False)],
)
def test_booleans_mean_the_same_to_validator_and_loader(cell: str, expected: bool) -> None:
    assert parse_bool(cell) is expected
    assert validate.parse_bool(cell) is expected and normalise.parse_bool(cell) is expected


@pytest.mark.parametrize("cell", ["maybe", "?", "", "2"])
def test_unreadable_booleans_are_none_to_both(cell: str) -> None:
    assert validate.parse_bool(cell) is None and normalise.parse_bool(cell) is None


def test_dates_mean_the_same_to_validator_and_loader() -> None:
    for cell, day in [("2016-04-03", date(2016, 4, 3)), ("3/4/2016", date(2016, 4, 3))]:
        assert parse_date(cell) == validate.parse_date(cell) == day
        assert normalise.parse_date(cell) == day.isoformat()
    for cell in ["2016-02-30", "03-04-2016", "2016/04/03"]:
        assert validate.parse_date(cell) is None and normalise.parse_date(cell) is None
    assert parse_datetime("2026-11-01T02:00:00Z") == datetime.fromisoformat("2026-11-01T02:00:00Z")
    assert normalise.parse_datetime("2026-11-01") == "2026-11-01T00:00:00"
    assert normalise.parse_datetime("2026-11-01T02:00:00Z") == "2026-11-01T02:00:00+00:00"
