"""The default loader mappings read exactly the files the contract describes.

The contract is data twice: ``cpgraph.contract.spec`` (what the generator writes and
the validator checks) and each agency's default mapping in ``loaders/`` (what
``cpgraph load`` reads). A change to one without the other would let the generator
and the loader drift apart, so every CSV file of the contract is compared here.
Mappings for particular systems (``systems = [...]``) describe variants and are
not compared.
"""

from __future__ import annotations

import pytest

from cpgraph.contract.spec import CSV_FILES, FHIR_RESOURCES, FileSpec
from cpgraph.ingest.mapping import (
    EntryMapping,
    Mapping,
    load_mappings,
    row_key_template,
    template_fields,
)
from cpgraph.keys import AGENCIES


def default_mapping(agency: str) -> Mapping:
    found = [m for m in load_mappings() if m.agency == agency and m.default]
    assert len(found) == 1, f"{agency}: {len(found)} default mappings"
    return found[0]


def described(spec: FileSpec) -> dict[str, object]:
    return {
        "columns": set(spec.columns),
        "required": set(spec.required),
        "id": spec.id_column,
        "kind": spec.kind,
        "dates": set(spec.dates),
        "datetimes": set(spec.datetimes),
        "booleans": set(spec.booleans),
        "integers": set(spec.integers),
        "enums": {k: set(v) for k, v in spec.enums.items()},
        "refs": {(r.column, r.target_file, r.required) for r in spec.refs},
        "upper id": {spec.id_column} if spec.upper_id else set(),
        "row key": spec.key_columns,
    }


def read(entry: EntryMapping) -> dict[str, object]:
    return {
        "columns": set(entry.columns),
        "required": set(entry.required),
        "id": entry.id,
        "kind": entry.mention.kind if entry.mention else None,
        "dates": set(entry.dates),
        "datetimes": set(entry.datetimes),
        "booleans": set(entry.booleans),
        "integers": set(entry.integers),
        "enums": {k: set(v) for k, v in entry.enums.items()},
        "refs": {(r.column, r.entry, r.required) for r in entry.refs},
        "upper id": set(entry.upper) & {entry.id},
        "row key": tuple(template_fields(row_key_template(entry) or "")),
    }


@pytest.mark.parametrize("agency", [a for a in AGENCIES if CSV_FILES[a]])
def test_default_mapping_reads_the_contract_files(agency: str) -> None:
    mapping = default_mapping(agency)
    assert mapping.format == "csv"
    specs = CSV_FILES[agency]
    # Same files, in the same (dependency) order.
    assert [e.name for e in mapping.entries] == [s.name for s in specs]
    for spec in specs:
        assert read(mapping.entry(spec.name)) == described(spec), f"{agency}/{spec.name}"


def test_health_mapping_reads_the_contract_resources() -> None:
    mapping = default_mapping("health")
    assert mapping.format == "fhir"
    got = {e.resource: (e.mention.kind if e.mention else None) for e in mapping.entries}
    assert got == FHIR_RESOURCES
