"""The audit log cannot be quietly cut or rewritten (real embedded FalkorDB).

Before: deleting the last entries passed ``audit verify`` and a restarted writer
reused their sequence numbers; recomputing every hash after an edit passed (no
key, no head kept anywhere else); ``db reset --yes`` erased the audit log.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cpgraph.config import Backend, Settings
from cpgraph.security import (
    AuditLog,
    AuditUnavailableError,
    Role,
    add_user,
    entry_hash,
    verify_chain,
)
from cpgraph.security.anchor import ANCHOR_FILE, KEY_FILE
from cpgraph.security.audit import GENESIS_HASH, AuditRecord, reanchor
from cpgraph.security.commands import reset_graph
from cpgraph.store import GraphStore
from cpgraph.store.falkordb import FalkorDBStore
from cpgraph.store.registry import QueryRegistry
from tests.queries import with_test_queries

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
CPGRAPH = Path(sys.executable).with_name("cpgraph")


def _registry(tmp: Path) -> QueryRegistry:
    """The product queries plus this folder's test-only ones (an attacker's writes)."""
    return with_test_queries("falkordb", HERE / "cypher")


def _settings(tmp: Path) -> Settings:
    return Settings(backend=Backend.FALKORDB, data_dir=tmp / "data", falkordb_url=None)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[GraphStore]:
    graph_store = FalkorDBStore(_settings(tmp_path), registry=_registry(tmp_path))
    await graph_store.start()
    try:
        await graph_store.bootstrap()
        yield graph_store
    finally:
        await graph_store.close()


async def _append(log: AuditLog, n: int) -> list[AuditRecord]:
    return [
        await log.append(
            user="alice", role="investigator", action="query:person", persons=[f"per-{i}"],
            purpose="CP-1; strategy meeting",
        )
        for i in range(n)
    ]  # fmt: skip


async def test_a_clean_chain_verifies_and_files_are_private(
    store: GraphStore, tmp_path: Path
) -> None:
    entries = await _append(AuditLog(store), 5)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert all(e.version == 2 for e in entries)
    result = await verify_chain(store)
    assert result.ok, result.problems
    assert result.entries == 5
    data = tmp_path / "data"
    for name in (KEY_FILE, ANCHOR_FILE):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    # The key is never in the graph.
    key_hex = (data / KEY_FILE).read_text().strip()
    rows = await store.query("audit_entries_page", after_seq=0, limit=10, user=None, person_id=None)
    assert key_hex not in json.dumps(rows)


async def test_truncation_is_detected_and_seqs_are_not_reused(store: GraphStore) -> None:
    await _append(AuditLog(store), 5)
    await store.execute("test_audit_delete_after", seq=3)
    result = await verify_chain(store)
    assert not result.ok
    assert result.missing_after == 3
    assert any("entries missing after seq 3" in p for p in result.problems)
    # A restarted writer (a new AuditLog) continues after the anchored head.
    entry = await AuditLog(store).append(user="bob", role="auditor", action="query:auditLog")
    assert entry.seq == 6
    result = await verify_chain(store)
    assert not result.ok
    assert result.first_bad_seq == 6
    assert any("entries missing after seq 3" in p for p in result.problems)


async def test_rewrite_with_recomputed_hashes_is_detected(store: GraphStore) -> None:
    """The attacker edits entry 2 and recomputes every hash after it (no key)."""
    await _append(AuditLog(store), 4)
    rows = await store.query("audit_entries_page", after_seq=0, limit=10, user=None, person_id=None)
    entries = [AuditRecord.from_row(r["entry"]) for r in rows]
    prev = entries[0].hash
    for e in entries[1:]:
        purpose = "CP-9; nothing to see" if e.seq == 2 else e.purpose
        digest = entry_hash(
            seq=e.seq, at=e.at, user=e.user, role=e.role, action=e.action, persons=e.persons,
            records=e.records, fields=e.fields, purpose=purpose, prev_hash=prev,
        )  # fmt: skip
        # Written as an old, unkeyed entry: the only hash anyone can compute without the key.
        await store.execute(
            "test_audit_overwrite", seq=e.seq, purpose=purpose, prev_hash=prev, hash=digest, v=None
        )
        prev = digest
    result = await verify_chain(store)
    assert not result.ok
    assert result.first_bad_seq == 2
    assert any("entry 2: unkeyed entry inside the keyed chain" in p for p in result.problems)
    assert any("anchored head" in p for p in result.problems)


async def test_rewrite_claiming_the_keyed_version_is_detected(store: GraphStore) -> None:
    await _append(AuditLog(store), 3)
    rows = await store.query("audit_entries_page", after_seq=0, limit=10, user=None, person_id=None)
    e = AuditRecord.from_row(rows[2]["entry"])
    digest = entry_hash(
        seq=e.seq, at=e.at, user=e.user, role=e.role, action=e.action, persons=e.persons,
        records=e.records, fields=e.fields, purpose="CP-9; edited", prev_hash=e.prev_hash,
    )  # fmt: skip
    await store.execute(
        "test_audit_overwrite", seq=3, purpose="CP-9; edited", prev_hash=e.prev_hash, hash=digest,
        v=2,
    )  # fmt: skip
    result = await verify_chain(store)
    assert not result.ok and result.first_bad_seq == 3
    assert any("altered" in p for p in result.problems)


async def test_a_different_key_or_an_edited_anchor_does_not_verify(
    store: GraphStore, tmp_path: Path
) -> None:
    await _append(AuditLog(store), 3)
    data = tmp_path / "data"
    anchor = data / ANCHOR_FILE
    lines = anchor.read_text().splitlines()
    # Forge the head line back to seq 2 (to hide a truncation): its MAC fails.
    forged = json.loads(lines[-1])
    forged["seq"] = 2
    anchor.write_text("\n".join([*lines[:-1], json.dumps(forged)]) + "\n")
    result = await verify_chain(store)
    assert not result.ok
    assert any("anchor line 4" in p for p in result.problems)
    # Another key (the key file replaced): no entry verifies.
    anchor.write_text("\n".join(lines) + "\n")
    assert (await verify_chain(store)).ok
    other = Settings(backend=Backend.FALKORDB, data_dir=data, falkordb_url=None, audit_key="k" * 40)
    result = await verify_chain(store, settings=other)
    assert not result.ok and result.first_bad_seq == 1


async def test_an_old_unkeyed_chain_stays_verifiable_as_a_prefix(store: GraphStore) -> None:
    prev = GENESIS_HASH
    for seq in (1, 2):
        body = dict(
            seq=seq, at=f"2026-01-0{seq}T00:00:00+00:00", user="old", role="investigator",
            action="query:person", persons=["per-1"], records=[], fields=["Person.id"],
            purpose="CP-1; legacy", prev_hash=prev,
        )  # fmt: skip
        digest = entry_hash(**body)  # type: ignore[arg-type]
        await store.execute("test_audit_legacy_append", **body, hash=digest)
        prev = digest
    result = await verify_chain(store)
    assert result.ok, result.problems
    assert result.notes and "legacy" in result.notes[0]
    await _append(AuditLog(store), 2)  # the first keyed append anchors the old prefix
    result = await verify_chain(store)
    assert result.ok, result.problems
    assert result.entries == 4
    # Rewriting the old prefix (recomputed unkeyed hashes all the way) is detected.
    rows = await store.query("audit_entries_page", after_seq=0, limit=10, user=None, person_id=None)
    first = AuditRecord.from_row(rows[0]["entry"])
    digest = entry_hash(
        seq=1, at=first.at, user=first.user, role=first.role, action=first.action,
        persons=first.persons, records=first.records, fields=first.fields,
        purpose="CP-9; edited", prev_hash=GENESIS_HASH,
    )  # fmt: skip
    await store.execute(
        "test_audit_overwrite", seq=1, purpose="CP-9; edited", prev_hash=GENESIS_HASH,
        hash=digest, v=None,
    )  # fmt: skip
    result = await verify_chain(store)
    assert not result.ok
    assert result.first_bad_seq == 2  # entry 2's prev_hash no longer matches


async def _labels(store: GraphStore) -> dict[str, int]:
    return {r["label"]: r["n"] for r in await store.query("test_count_labels")}


async def test_reset_keeps_the_audit_log_and_users(store: GraphStore, tmp_path: Path) -> None:
    await add_user(store, "alice", Role.INVESTIGATOR)
    await _append(AuditLog(store), 3)
    await store.execute("test_graph_seed")
    deleted = await reset_graph(store, _settings(tmp_path), include_audit=False)
    assert deleted == 3
    labels = await _labels(store)
    assert labels == {"User": 1, "AuditEntry": 4}  # the reset itself is audited
    result = await verify_chain(store)
    assert result.ok, result.problems
    rows = await store.query("audit_entries_page", after_seq=3, limit=5, user=None, person_id=None)
    assert rows[0]["entry"]["action"] == "db:reset"


async def test_reset_including_audit_starts_a_new_chain(store: GraphStore, tmp_path: Path) -> None:
    await add_user(store, "alice", Role.INVESTIGATOR)
    await _append(AuditLog(store), 3)
    assert await reset_graph(store, _settings(tmp_path), include_audit=True) == -1
    assert await _labels(store) == {"AuditEntry": 1}
    result = await verify_chain(store)
    assert result.ok, result.problems
    kept = list((tmp_path / "data").glob(f"{ANCHOR_FILE}.reset-*"))
    assert len(kept) == 1 and kept[0].stat().st_size > 0


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CPGRAPH_DATA_DIR": str(tmp_path / "data"), "CPGRAPH_BACKEND": "falkordb"}
    env.pop("CPGRAPH_FALKORDB_URL", None)
    env.pop("CPGRAPH_AUDIT_KEY", None)
    return subprocess.run(
        [str(CPGRAPH), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


async def test_cli_reset_and_verify(tmp_path: Path) -> None:
    graph_store = FalkorDBStore(_settings(tmp_path), registry=_registry(tmp_path))
    await graph_store.start()
    try:
        await graph_store.bootstrap()
        await add_user(graph_store, "alice", Role.INVESTIGATOR)
        await _append(AuditLog(graph_store), 4)
    finally:
        await graph_store.close()
    done = _cli(tmp_path, "db", "reset", "--yes")
    assert done.returncode == 0, done.stderr
    assert "audit log and users kept" in done.stdout
    refused = _cli(tmp_path, "db", "reset", "--yes", "--include-audit")
    assert refused.returncode == 2
    assert "--i-understand-the-audit-log-is-lost" in refused.stderr
    done = _cli(tmp_path, "audit", "verify")
    assert done.returncode == 0, done.stderr
    assert "5 entries" in done.stdout
    # Cut the last two entries: verify names the cut.
    graph_store = FalkorDBStore(_settings(tmp_path), registry=_registry(tmp_path))
    await graph_store.start()
    try:
        await graph_store.execute("test_audit_delete_after", seq=3)
    finally:
        await graph_store.close()
    done = _cli(tmp_path, "audit", "verify")
    assert done.returncode == 1
    assert "entries missing after seq 3" in done.stderr


async def test_a_keyed_chain_without_its_anchor_fails_closed(
    store: GraphStore, tmp_path: Path
) -> None:
    """Deleting the anchor (and cutting the chain) must not be quietly re-anchored."""
    await _append(AuditLog(store), 4)
    await store.execute("test_audit_delete_after", seq=2)
    (tmp_path / "data" / ANCHOR_FILE).unlink()
    result = await verify_chain(store)
    assert not result.ok
    assert any("anchor file is missing" in p for p in result.problems)
    with pytest.raises(AuditUnavailableError):
        await AuditLog(store).append(user="u", role="investigator", action="q")
    assert not (tmp_path / "data" / ANCHOR_FILE).exists()
    # The operator accepts the chain as it stands: anchored again, and audited.
    result = await reanchor(store)
    assert result.ok, result.problems
    assert result.entries == 3
    entry = await AuditLog(store).append(user="u", role="investigator", action="q")
    assert entry.seq == 4
    assert (await verify_chain(store)).ok
