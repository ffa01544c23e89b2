"""The audit chain's key and its anchor file, both outside the graph.

The key (HMAC-SHA256) comes from ``CPGRAPH_AUDIT_KEY`` or, when that is unset,
from ``<data_dir>/audit.key``: 32 random bytes written 0600 on first use. It is
never stored in the graph, so someone who can write to the database cannot
recompute a valid chain after editing it.

The anchor file ``<data_dir>/audit.anchor`` (0600, only ever appended to) gets
one line per appended entry: the chain head ``seq``, its ``hash`` and the entry
``count``, each line with its own MAC. Deleting the last entries of the graph
then no longer verifies (the anchor records a longer chain), and neither does
rewriting the chain (its head no longer matches). The first line (``genesis``)
records how far the chain is older, unkeyed SHA-256 entries (chain version 1),
which stay verifiable as a prefix only.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cpgraph.config import Settings
from cpgraph.security.errors import AuditKeyError
from cpgraph.store.embedded import private_file, secure_data_dir

KEY_FILE = "audit.key"
ANCHOR_FILE = "audit.anchor"
_KEY_BYTES = 32
# How far back from the end the anchor is read for its head (lines are ~200 bytes).
_TAIL_BYTES = 64 * 1024


def key_path(settings: Settings) -> Path:
    """Where the generated audit key lives (unused when ``CPGRAPH_AUDIT_KEY`` is set)."""
    return settings.data_dir.expanduser().resolve() / KEY_FILE


def anchor_path(settings: Settings) -> Path:
    """The anchor file of the audit chain."""
    return settings.data_dir.expanduser().resolve() / ANCHOR_FILE


def key_configured(settings: Settings) -> bool:
    """True when an audit key exists (in the environment or as the key file)."""
    return settings.audit_key is not None or key_path(settings).is_file()


def audit_key(settings: Settings, *, create: bool = True) -> bytes | None:
    """Return the audit chain's HMAC key.

    Args:
        settings: where to look (``audit_key``, else ``data_dir``).
        create: make a random key file (0600) when there is none.

    Returns:
        The key, or ``None`` when there is none and ``create`` is false.

    Raises:
        AuditKeyError: the key file cannot be read or written, or is malformed.
    """
    if settings.audit_key is not None:
        return settings.audit_key.get_secret_value().encode("utf-8")
    path = key_path(settings)
    try:
        return _read_key(path)
    except FileNotFoundError:
        if not create:
            return None
    try:
        secure_data_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)  # another process made it first
    except OSError as exc:
        raise AuditKeyError(f"cannot create the audit key file ({exc.strerror})") from exc
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(_KEY_BYTES) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    """The key in ``path`` (hex); FileNotFoundError when there is none yet."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise  # the caller may create it
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError("cannot read the audit key file") from exc
    try:
        key = bytes.fromhex(text)
    except ValueError as exc:
        raise AuditKeyError("the audit key file is malformed") from exc
    if len(key) < _KEY_BYTES:
        raise AuditKeyError("the audit key file is malformed")
    return key


def mac(key: bytes, body: dict[str, Any]) -> str:
    """HMAC-SHA256 (hex) of a JSON object's canonical form."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(slots=True)
class AnchorState:
    """What the anchor file says.

    Attributes:
        exists: the file exists.
        legacy_until: the last unkeyed (version 1) entry when the chain was first
            anchored (0: none), with its ``legacy_hash``; None without a genesis line.
        head_seq / head_hash / head_count: the highest anchored entry.
        bad_lines: line numbers whose MAC does not verify or that cannot be read.
        lines: how many lines were read.
    """

    exists: bool = False
    legacy_until: int | None = None
    legacy_hash: str = ""
    head_seq: int = 0
    head_hash: str = ""
    head_count: int = 0
    bad_lines: list[int] = field(default_factory=list)
    lines: int = 0


class AuditAnchor:
    """Appends to and reads the anchor file of one data directory."""

    def __init__(self, path: Path, key: bytes) -> None:
        """Use the anchor at ``path``, signing lines with ``key``."""
        self.path = path
        self.key = key

    def _append(self, body: dict[str, Any]) -> None:
        line = json.dumps({**body, "mac": mac(self.key, body)}, sort_keys=True) + "\n"
        secure_data_dir(self.path.parent)
        # O_APPEND: one small write per line, so concurrent writers never interleave.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def start(self, legacy_until: int, legacy_hash: str) -> None:
        """Write the genesis line (only when the file does not exist yet)."""
        if self.path.exists():
            return
        self._append({"kind": "genesis", "legacy_until": legacy_until, "hash": legacy_hash})
        private_file(self.path)

    def record(self, seq: int, digest: str, count: int) -> None:
        """Anchor the chain head after appending entry ``seq``."""
        self._append({"kind": "head", "seq": seq, "hash": digest, "count": count})

    def _lines(self) -> Iterator[tuple[int, str]]:
        with self.path.open(encoding="utf-8", errors="replace") as fh:
            yield from enumerate(fh, start=1)

    def read(self, *, full: bool = True) -> AnchorState:
        """Read the anchor: genesis, the highest head, and lines that do not verify.

        Args:
            full: check every line's MAC (``audit verify``); otherwise read only the
                genesis line and the file's tail for the head (each append).
        """
        state = AnchorState()
        if not self.path.exists():
            return state
        state.exists = True
        if full:
            lines: Iterator[tuple[int, str]] = self._lines()
        else:
            lines = self._genesis_and_tail()
        for number, text in lines:
            state.lines += 1
            try:
                data = json.loads(text)
                body = {k: v for k, v in data.items() if k != "mac"}
                ok = hmac.compare_digest(str(data.get("mac", "")), mac(self.key, body))
            except (ValueError, AttributeError):
                ok = False
            if not ok:
                state.bad_lines.append(number)
                continue
            if body.get("kind") == "genesis":
                if state.legacy_until is None:
                    state.legacy_until = int(body["legacy_until"])
                    state.legacy_hash = str(body["hash"])
            elif body.get("kind") == "head" and int(body["seq"]) > state.head_seq:
                state.head_seq = int(body["seq"])
                state.head_hash = str(body["hash"])
                state.head_count = int(body["count"])
        return state

    def _genesis_and_tail(self) -> Iterator[tuple[int, str]]:
        with self.path.open("rb") as fh:
            first = fh.readline()
            yield 1, first.decode("utf-8", errors="replace")
            size = os.fstat(fh.fileno()).st_size
            start = max(fh.tell(), size - _TAIL_BYTES)
            fh.seek(start)
            tail = fh.read().decode("utf-8", errors="replace").splitlines()
            if start > len(first) and tail:
                tail = tail[1:]  # the first piece may be a partial line
            for text in tail:
                yield 0, text


def retire_anchor(settings: Settings, reason: str) -> Path | None:
    """Move the anchor aside after the audit log itself was deleted on purpose.

    The old anchor is kept (read-only, named ``audit.anchor.<reason>-<UTC time>``) as
    evidence of the chain that was deleted; the next append starts a new one.

    Returns:
        Where the old anchor went, or ``None`` when there was none.
    """
    path = anchor_path(settings)
    if not path.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = path.with_name(f"{path.name}.{reason}-{stamp}")
    os.replace(path, target)
    with contextlib.suppress(OSError):
        os.chmod(target, 0o400)
    return target
