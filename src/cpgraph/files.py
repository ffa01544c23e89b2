"""Files cpgraph writes that may hold personal data or record keys: owner-only (0600)."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by its owner only.

    An existing file is truncated and its mode tightened to 0600 first, so an export
    never lands in a file others can read (the umask would otherwise decide).

    Args:
        path: the file to write.
        text: its whole content.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fd = -1
            fh.write(text)
    finally:
        if fd >= 0:
            os.close(fd)


def write_private(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write ``path`` with ``write(file)``: 0600 in a 0700 folder, atomically (an
    interrupted run never leaves half a file).

    Args:
        path: the file to write (its folder is made 0700).
        write: writes the whole content to the open binary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        write(fh)
    tmp.replace(path)


def write_npz(
    path: Path, arrays: dict[str, np.ndarray], members: Mapping[str, Path] | None = None
) -> None:
    """Write ``arrays`` as one ``.npz`` (:func:`write_private`), as :func:`numpy.savez`
    writes it.

    Args:
        path: the file.
        arrays: name → array.
        members: name → a ``.npy`` file already on disk, copied in as that array a block
            at a time (a large array spilled to disk is never loaded back to be written).
    """

    def write(fh: BinaryIO) -> None:
        # (numpy.savez's own layout: one stored, uncompressed `NAME.npy` member per array)
        with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, values in arrays.items():
                with zf.open(f"{name}.npy", mode="w", force_zip64=True) as out:
                    np.lib.format.write_array(out, np.asanyarray(values))
            for name, source in (members or {}).items():
                zf.write(source, f"{name}.npy")

    write_private(path, write)


def encode_strings(values: Iterable[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strings as (UTF-8 bytes, end offsets, is-null mask); compact, unlike ``<U`` arrays."""
    values = list(values)
    null = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values], bool)
    parts = [b"" if n else str(v).encode("utf-8") for v, n in zip(values, null, strict=True)]
    ends = np.cumsum([len(p) for p in parts], dtype=np.int64)
    data = np.frombuffer(b"".join(parts), dtype=np.uint8)
    return data, ends, null


def decode_strings(data: np.ndarray, ends: np.ndarray, null: np.ndarray) -> np.ndarray:
    """The object array :func:`encode_strings` encoded (None where null)."""
    raw = data.tobytes()
    out = np.empty(len(ends), dtype=object)
    start = 0
    for k, end in enumerate(ends.tolist()):
        out[k] = None if null[k] else raw[start:end].decode("utf-8")
        start = end
    return out


#: The layout of :func:`save_digests`' files (a file of another layout is not read).
DIGESTS_FORMAT = 3


def save_digests(
    path: Path, keys: list[str], digests: np.ndarray, meta: Mapping[str, Any] | None = None
) -> None:
    """Write what a run last wrote of a projection: a key and a uint64 digest per row.

    ``.npz`` without pickled objects, 0600 in a 0700 folder, written atomically.

    Args:
        path: the file.
        keys: one key per row.
        digests: one uint64 per key.
        meta: plain JSON values kept with them (:func:`load_digests` returns them only
            when asked for, and refuses the file when they differ).
    """
    data, ends, null = encode_strings(keys)
    head = {"format": DIGESTS_FORMAT, "kind": "digests", **(meta or {})}
    arrays = {
        "k.data": data,
        "k.ends": ends,
        "k.null": null,
        "values": np.asarray(digests, dtype=np.uint64),
        "meta": np.frombuffer(json.dumps(head).encode("utf-8"), dtype=np.uint8),
    }
    write_npz(path, arrays)


def load_digests(path: Path, meta: Mapping[str, Any] | None = None) -> dict[str, int] | None:
    """Read :func:`save_digests`' file: key → digest.

    Args:
        path: the file.
        meta: what the file must have been written with (``None``: nothing).

    Returns:
        ``None`` if the file is absent, malformed, or written with other ``meta``.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            head = json.loads(npz["meta"].tobytes().decode("utf-8"))
            if head != {"format": DIGESTS_FORMAT, "kind": "digests", **(meta or {})}:
                return None
            keys = decode_strings(npz["k.data"], npz["k.ends"], npz["k.null"])
            values = npz["values"].astype(np.uint64)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, UnicodeDecodeError):
        return None
    if len(keys) != len(values):
        return None
    return dict(zip(keys.tolist(), values.tolist(), strict=True))
