"""Tiny hand-made extract folders for ingest tests (exact lines known)."""

from __future__ import annotations

import json
from pathlib import Path

EXTRACTED_AT = "2026-11-01T02:00:00Z"


def write_extract(
    folder: Path,
    agency: str,
    system: str,
    files: dict[str, str | bytes],
    *,
    extracted_at: str = EXTRACTED_AT,
    organisation: str = "Test Organisation",
) -> Path:
    """Write ``manifest.json`` plus ``files`` (name -> text or bytes) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "agency": agency,
        "system": system,
        "organisation": organisation,
        "extracted_at": extracted_at,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    return folder


NOMINALS = (
    "nominal_id,pnc_id,cro_number,forename,middle_names,surname,aliases,date_of_birth,"
    "gender,address,postcode\r\n"
    "N1,04/0012345X,123456/04A,  zoë ,Anne  Marie,Nowak-Łukasik,Zoe Smith; Z Nowak,"
    "05/04/2011,F,1 High St,b152tt\r\n"
    "N2,2004/0012345Q,,Dean,,O'Neil,,1985-02-30,M,,\r\n"  # bad date -> quarantined
    'N3,,,"Jo\nAnn",,Smith,,1990-01-01,Q,"2 Low Rd, Town",NOTAPC\r\n'  # 2 physical lines
    "N4,,,Mark,,Brown,,1980-07-07,M,,\r\n"
    ",,,Nobody,,Here,,,,,\r\n"  # missing nominal_id (line 7)
    "N5,,,Too,,Many,,,,,,extra\r\n"  # too many fields (line 8)
)
OCCURRENCES = (
    "occurrence_id,occurrence_type,occurred_at,address,postcode,dash_risk,marac_referral,"
    "children_present,summary\r\n"
    "O1,domestic_abuse,2025-06-01T21:30:00Z,1 High St,B15 2TT,high,Y,maybe,shouting\r\n"
    "O2,assault,not a date,,,,,,\r\n"  # bad date-time (line 3)
    "O3,burglary,2025-06-02,,,,,true,\r\n"  # unknown enum: warning; children present
)
INVOLVEMENTS = (
    "occurrence_id,nominal_id,role,relationship_to_victim\r\n"
    "O1,N1,victim,\r\n"
    "O1,N4,suspect,partner\r\n"
    "O1,N2,witness,\r\n"  # N2 was quarantined -> unknown reference (line 4)
    "O9,N1,victim,\r\n"  # unknown occurrence (line 5)
    "O3,N4,child_present,none\r\n"
)


def police_extract(folder: Path, system: str = "test-police", **kw: str) -> Path:
    """A police extract with one row of each kind of row error and warning."""
    return write_extract(
        folder,
        "police",
        system,
        {
            "nominals.csv": "\ufeff" + NOMINALS,
            "occurrences.csv": OCCURRENCES,
            "involvements.csv": INVOLVEMENTS,
        },
        **kw,
    )


#: (file, line) of every row of :func:`police_extract` that must be quarantined.
POLICE_QUARANTINED = {
    ("nominals.csv", 3),
    ("nominals.csv", 7),
    ("nominals.csv", 8),
    ("occurrences.csv", 3),
    ("involvements.csv", 4),
    ("involvements.csv", 5),
}


def bundle_json(*resources: dict) -> str:
    """A FHIR collection Bundle holding `resources`, as JSON text."""
    return json.dumps(
        {
            "resourceType": "Bundle",
            "id": "b1",
            "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{i}", "resource": r} for i, r in enumerate(resources)],
        }
    )


PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "943 476 5919"}],
    "name": [{"given": ["Siobhán", "Mary"], "family": "Nowak-Łukasik"}],
    "birthDate": "2012-03-04",
    "gender": "female",
    "address": [{"line": ["1 High St", "Flat 2"], "postalCode": "b15 2tt"}],
}
RELATED = {
    "resourceType": "RelatedPerson",
    "id": "r1",
    "patient": {"reference": "Patient/p1"},
    "relationship": [{"text": "Mother's partner"}],
    "name": [{"given": ["Dave"], "family": "Jones"}],
}
ENCOUNTER = {
    "resourceType": "Encounter",
    "id": "e1",
    "status": "finished",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"},
    "subject": {"reference": "Patient/p1"},
    "period": {"start": "2025-05-05T10:00:00Z"},
    "reasonCode": [{"text": "Bruising to back"}],
    "participant": [{"individual": {"reference": "RelatedPerson/r1"}}],
}
FLAG = {
    "resourceType": "Flag",
    "id": "f1",
    "status": "active",
    "code": {"text": "Child Protection Plan"},
    "subject": {"reference": "Patient/p1"},
    "period": {"start": "2025-01-01"},
    "author": {"display": "Birmingham City Council"},
}


def health_extract(folder: Path, system: str = "test-fhir") -> Path:
    """A health extract: one good bundle (with one invalid resource), one broken file."""
    bad_patient = {"resourceType": "Patient", "id": "p2", "birthDate": "31/02/2011"}
    orphan = dict(RELATED, id="r2", patient={"reference": "Patient/nope"})
    observation = {"resourceType": "Observation", "id": "o1"}
    return write_extract(
        folder,
        "health",
        system,
        {
            # entries: 1 Patient, 2 RelatedPerson, 3 Encounter, 4 Flag, 5 bad Patient,
            # 6 orphan RelatedPerson, 7 ignored Observation
            "bundles/bundle-00001.json": bundle_json(
                PATIENT, RELATED, ENCOUNTER, FLAG, bad_patient, orphan, observation
            ),
            "bundles/bundle-00002.json": "{not json",
        },
    )


HEALTH_QUARANTINED = {
    ("bundles/bundle-00001.json", 5),
    ("bundles/bundle-00001.json", 6),
    ("bundles/bundle-00002.json", 0),
}
