"""Over-long values against the real embedded FalkorDB: quarantined, never a crash or a leak."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import pytest

from cpgraph.config import Backend, Settings
from cpgraph.errors import CpgraphError
from cpgraph.ingest import list_quarantine, load_extract
from cpgraph.store import GraphStore, create_store
from tests.unit.ingest.extracts import write_extract

pytestmark = pytest.mark.integration

MARKER = "Zephyrina"  # a "personal" value that must never reach the server log

NOMINALS_HEADER = (
    "nominal_id,pnc_id,cro_number,forename,middle_names,surname,aliases,date_of_birth,"
    "gender,address,postcode\r\n"
)


def _long_extract(folder: Path) -> Path:
    long_id = MARKER + "1" * 5000
    long_address = f"1 {MARKER} Road " + "x" * 5000
    long_postcode = "B15 2TT" + "Y" * 4600
    nominals = (
        NOMINALS_HEADER
        + "N1,,,Ann,,Smith,,2011-04-05,F,1 High St,B15 2TT\r\n"
        + f"{long_id},,,Bob,,Jones,,1980-01-01,M,,\r\n"
        + f"N3,,,Cat,,Brown,,1990-01-01,F,{long_address},B15 2TT\r\n"
        + f"N4,,,Dan,,Green,,1985-01-01,M,2 Low Rd,{long_postcode}\r\n"
        + f"N5,,,{MARKER * 12},,White,,1985-01-01,M,,\r\n"
    )
    occurrences = (
        "occurrence_id,occurrence_type,occurred_at,address,postcode,dash_risk,marac_referral,"
        "children_present,summary\r\n"
        "O1,domestic_abuse,2025-06-01T21:30:00Z,1 High St,B15 2TT,high,Y,true,shouting\r\n"
        f"O2,assault,2025-06-02,{long_address},B15 2TT,,,,\r\n"
    )
    involvements = "occurrence_id,nominal_id,role,relationship_to_victim\r\nO1,N1,victim,\r\n"
    return write_extract(
        folder,
        "police",
        "long-police",
        {
            "nominals.csv": nominals,
            "occurrences.csv": occurrences,
            "involvements.csv": involvements,
        },
    )


async def test_over_long_values_are_quarantined_and_the_store_survives(
    falkordb_store: GraphStore, tmp_path: Path
) -> None:
    report = await load_extract(falkordb_store, _long_extract(tmp_path / "x"))
    health = await falkordb_store.health()
    assert health.ok
    assert report.rows_read == report.rows_loaded + report.rows_quarantined
    nominals = report.files["nominals.csv"]
    assert (nominals.read, nominals.loaded, nominals.quarantined) == (5, 1, 4)
    assert report.files["occurrences.csv"].quarantined == 1
    rows = await list_quarantine(falkordb_store, "long-police")
    got = {(r.file, r.line, r.reason, r.column) for r in rows}
    assert got == {
        ("nominals.csv", 3, "too_long", "nominal_id"),
        ("nominals.csv", 4, "too_long", "address"),
        ("nominals.csv", 5, "too_long", "postcode"),
        ("nominals.csv", 6, "too_long", "forename"),
        ("occurrences.csv", 3, "too_long", "address"),
    }
    # The raw row is kept whole for the steward.
    by_line = {(r.file, r.line): r for r in rows}
    assert MARKER + "1" * 5000 in by_line[("nominals.csv", 3)].raw


async def test_server_log_is_private_and_carries_no_query_after_a_crash(tmp_path: Path) -> None:
    """Crash the server on purpose (an over-long unique key): its log keeps no query text."""
    data_dir = tmp_path / "data"
    store = create_store(Settings(backend=Backend.FALKORDB, data_dir=data_dir))
    await store.start()
    try:
        await store.bootstrap()
        assert stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700
        for name, want in (
            ("loglevel", "warning"),
            ("crash-log-enabled", "no"),
            ("hide-user-data-from-log", "yes"),
            ("syslog-enabled", "no"),
        ):
            reply = await store._command("CONFIG", "GET", name)  # type: ignore[attr-defined]
            values = [v.decode() if isinstance(v, bytes) else v for v in reply]
            assert values == [name, want]
        graph = store._graph  # type: ignore[attr-defined]
        # Written straight to the graph, around the loader's bounds: this is what used
        # to segfault FalkorDB's uniqueness check and print the query in a crash report.
        with pytest.raises(Exception):  # noqa: B017 — the server dies mid-query
            await graph.query("CREATE (:SourceRecord {key: $k})", {"k": f"{MARKER}:" + "n" * 5000})
    finally:
        with contextlib.suppress(CpgraphError):
            await store.close()
    log = data_dir / "falkordb.log"
    assert log.exists()
    assert MARKER not in log.read_text(encoding="utf-8", errors="replace")
    assert "nnnnnnnnnnnnnnnn" not in log.read_text(encoding="utf-8", errors="replace")
    for path in data_dir.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_dir():
            assert mode == 0o700, path
        elif path.is_file():
            assert mode & 0o077 == 0, (path, oct(mode))
    assert not list(data_dir.rglob("core*"))
