"""The linkage engine's incremental state on disk, in a format that cannot run code.

The state used to be a pickle: loading a pickle executes whatever it says, so
anyone able to write to the data directory could run code as cpgraph. Now it is
one NumPy ``.npz`` file read with ``allow_pickle=False``: the model as JSON
(:meth:`Model.to_dict`), the edges frame column by column (numbers as arrays,
strings as UTF-8 bytes plus offsets), the pairs kept only as cannot-links (positions
in the fingerprints' keys and weights: there are many, and no key is repeated for
them), the fingerprints (keys and uint64 hashes) and, when known, the hash of what was
last written per key. A file that is not exactly that is ignored (the next run is
full). Beside it, what the last run wrote of a projection (the person-level
``RELATED_TO`` edges) is kept as keys and digests (:func:`save_digests`), so the next
run rewrites only the rows that changed. Files are written 0600 in a 0700 folder,
atomically.
"""

from __future__ import annotations

import contextlib
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpgraph.files import decode_strings, encode_strings, write_npz, write_private
from cpgraph.linkage.model import Model
from cpgraph.linkage.stages import LinkState

#: Bump when the layout changes; a file of another version is ignored (3 adds the
#: compact cannot-links; a version 2 file holds them in its edges frame: still read).
FORMAT_VERSION = 3
_READABLE = (2, 3)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON: {type(value).__name__}")


def save_state(path: Path, state: LinkState, spec_version: str) -> None:
    """Write ``state`` to ``path`` (atomically; the folder 0700, the file 0600)."""
    arrays: dict[str, np.ndarray] = {}
    columns: list[list[str]] = []
    for col in state.edges.columns:
        values = state.edges[col].to_numpy()
        if values.dtype.kind in "biuf":
            arrays[f"e.{col}"] = values
            columns.append([col, "num"])
        else:
            data, ends, null = encode_strings(values)
            arrays[f"e.{col}.data"], arrays[f"e.{col}.ends"], arrays[f"e.{col}.null"] = (
                data,
                ends,
                null,
            )
            columns.append([col, "str"])
    fp = state.fingerprints
    arrays["fp.data"], arrays["fp.ends"], arrays["fp.null"] = encode_strings(
        fp.index.to_numpy(object)
    )
    arrays["fp.values"] = fp.to_numpy(np.uint64)
    if state.written is not None:
        # (the same keys as the fingerprints, in their order)
        arrays["wr.values"] = state.written.reindex(fp.index).fillna(0).to_numpy(np.uint64)
    members: dict[str, Path] = {}
    if state.cannot is not None and state.cannot_files:
        # spilled by the run (int32 ends, float64 weights): the files are copied in, not
        # read back into memory
        members = {f"c.{col}": state.cannot_files[col] for col in ("a", "b", "weight")}
    elif state.cannot is not None:
        for col in ("a", "b"):
            arrays[f"c.{col}"] = state.cannot[col].to_numpy(np.int32)
        arrays["c.weight"] = state.cannot["weight"].to_numpy(np.float64)
    if state.scope is not None:
        # (numbers only: positions in the fingerprints' keys, hashes, bounds, levels)
        for name, values in state.scope.items():
            arrays[f"s.{name}"] = np.asarray(values)
    meta = {
        "format": FORMAT_VERSION,
        "spec_version": spec_version,
        "model": state.model.to_dict(),
        "edge_columns": columns,
    }
    arrays["meta"] = np.frombuffer(
        json.dumps(meta, default=_json_default).encode("utf-8"), dtype=np.uint8
    )
    write_npz(path, arrays, members)


def load_state(path: Path, spec_version: str) -> LinkState | None:
    """Read a state written by :func:`save_state`; ``None`` if absent, stale or malformed.

    Never executes anything from the file: ``allow_pickle=False`` refuses object
    arrays, and the model is rebuilt from plain JSON.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes().decode("utf-8"))
            if meta.get("format") not in _READABLE or meta.get("spec_version") != spec_version:
                return None
            edges: dict[str, Any] = {}
            for col, kind in meta["edge_columns"]:
                if kind == "num":
                    edges[col] = npz[f"e.{col}"]
                else:
                    edges[col] = decode_strings(
                        npz[f"e.{col}.data"], npz[f"e.{col}.ends"], npz[f"e.{col}.null"]
                    )
            keys = decode_strings(npz["fp.data"], npz["fp.ends"], npz["fp.null"])
            fingerprints = pd.Series(npz["fp.values"].astype(np.uint64), index=keys)
            written = (
                pd.Series(npz["wr.values"].astype(np.uint64), index=keys)
                if "wr.values" in npz.files
                else None
            )
            model = Model.from_dict(meta["model"])
            cannot = None
            if "c.a" in npz.files:
                cannot = pd.DataFrame(
                    {col: npz[f"c.{col}"] for col in ("a", "b", "weight")},
                )
                if len(cannot) and int(cannot[["a", "b"]].to_numpy().max()) >= len(keys):
                    return None
            scope = _load_scope(npz, len(keys))
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, UnicodeDecodeError):
        return None
    columns = [c for c, _ in meta["edge_columns"]]
    return LinkState(
        model, pd.DataFrame(edges, columns=columns), fingerprints, written, cannot, scope
    )


# the scope's arrays of record positions (each must index the fingerprints' keys)
_SCOPE_POSITIONS = ("clash_a", "clash_b", "rel_a", "rel_b", "st_a", "st_b", "re_a", "re_b")


def _load_scope(npz: Any, n: int) -> dict[str, np.ndarray] | None:
    """The scope arrays of a state (None when absent or not consistent with its keys:
    the next run then clusters everything)."""
    scope = {f[2:]: npz[f] for f in npz.files if f.startswith("s.")}
    if not scope or any(v.dtype == object for v in scope.values()):
        return None
    if len(scope.get("labels", ())) != n or len(scope.get("groups", ())) != n:
        return None
    for name in _SCOPE_POSITIONS:
        v = scope.get(name)
        if v is None and name.startswith("rel_"):
            continue  # (a run without stated relationships)
        if v is None or (len(v) and (int(v.min()) < 0 or int(v.max()) >= n)):
            return None
    return scope


#: Bump when the mentions cache's layout changes (a file of another version is ignored).
MENTIONS_FORMAT = 1


def save_mentions(path: Path, mentions: pd.DataFrame) -> bool:
    """Write the mentions a run read (every column linkage reads, one row per mention)
    as Parquet, so that the next incremental run reads from the store only the rows
    whose ``row_hash`` changed. Same rules as :func:`save_state`: plain data (no code
    runs on reading it), 0600 in a 0700 folder, atomic.

    Returns:
        False when a column's values do not fit one Parquet type (nothing is written
        and an older file is removed: the next run reads every mention).
    """
    try:
        return _write_mentions(path, mentions)
    finally:
        # (the table died with the call: its memory given back, not kept by the pool)
        release_arrow_memory()


def _write_mentions(path: Path, mentions: pd.DataFrame) -> bool:
    import pyarrow as pa  # noqa: PLC0415 (only for the cache: ~0.2 s to import)
    import pyarrow.parquet as pq  # noqa: PLC0415

    try:
        table = pa.table({c: pa.array(mentions[c].tolist()) for c in mentions.columns})
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return False
    meta = {"format": MENTIONS_FORMAT, "columns": [str(c) for c in mentions.columns]}
    table = table.replace_schema_metadata({"cpgraph": json.dumps(meta)})
    write_private(path, lambda fh: pq.write_table(table, fh, compression="zstd"))
    return True


def release_arrow_memory() -> None:
    """Hand Arrow's freed memory back to the system.

    Arrow allocates from its own pool (mimalloc in the wheels), which keeps what a table
    freed for reuse: after the mentions cache was written, the ~0.4 KB a mention it had
    used stayed in the linking process through every later stage.
    """
    import pyarrow as pa  # noqa: PLC0415

    pa.default_memory_pool().release_unused()


def load_mentions(
    path: Path, columns: tuple[str, ...], only: tuple[str, ...] | None = None
) -> dict[str, np.ndarray] | None:
    """Read :func:`save_mentions`' file: column → object array (equal strings of a
    column are one object, as :meth:`LinkageService.read` makes them, except in the
    columns of distinct values, `_DISTINCT`); ``None`` if absent, of another layout or
    other columns, or malformed.

    Args:
        path: the file.
        columns: the columns the file must hold (else it is not read).
        only: read just these of them (default: all).
    """
    import pyarrow as pa  # noqa: PLC0415

    try:
        return _read_mentions(path, columns, only or columns)
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException, UnicodeDecodeError):
        return None
    finally:
        # (the table's buffers died with the call: given back, not kept by the pool)
        release_arrow_memory()


def _read_mentions(
    path: Path, columns: tuple[str, ...], only: tuple[str, ...]
) -> dict[str, np.ndarray] | None:
    import pyarrow.parquet as pq  # noqa: PLC0415

    raw = (pq.read_schema(path).metadata or {}).get(b"cpgraph")
    meta = json.loads(raw.decode("utf-8")) if raw else {}
    if meta != {"format": MENTIONS_FORMAT, "columns": list(columns)}:
        return None
    if not set(only) <= set(columns):
        return None
    out: dict[str, np.ndarray] = {}
    with pq.ParquetFile(path) as file:
        for name in only:
            # One column at a time, its Arrow memory given back before the next: a run
            # reads this cache while it holds the engine's whole result, and reading every
            # column at once added ~0.3 GB at 1M mentions to the run's peak for a moment.
            col = file.read(columns=[name]).column(name)
            out[name] = _column_values(col, distinct=name in _DISTINCT)
            del col
            release_arrow_memory()
    return out


#: Values converted at once by `_column_values` for a column of distinct strings.
_SLICE = 65_536
#: Columns of the mentions cache whose values are (almost all) distinct: their equal
#: strings are not made one object (there are too few to pay for finding them).
_DISTINCT = frozenset({"key", "row_hash"})


def _column_values(column: Any, distinct: bool = False) -> np.ndarray:
    """A Parquet column as an object array (its Arrow buffers die with the call).

    Args:
        column: the column as read.
        distinct: its values are (almost all) distinct (see `_DISTINCT`).
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    col = column.combine_chunks()
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        if distinct:
            # (keys, row hashes) converted a slice at a time, with no dictionary or hash
            # table of them all: that costs ~0.16 GB more for a moment at 1M mentions
            out = np.empty(len(col), dtype=object)
            for lo in range(0, len(col), _SLICE):
                out[lo : lo + _SLICE] = col.slice(lo, _SLICE).to_pylist()
            return out
        # repeated values (systems, names, dates): equal strings made one object
        enc = col.dictionary_encode()
        uniq = np.empty(len(enc.dictionary) + 1, dtype=object)
        uniq[:-1] = enc.dictionary.to_pylist()
        uniq[-1] = None  # (the slot of a null)
        idx = pc.fill_null(enc.indices, len(enc.dictionary)).to_numpy()
        return uniq[idx]  # (fancy indexing: a copy, not a view of Arrow's buffer)
    # (lists stay one object each: numpy would read them as a dimension)
    return pd.Series(col.to_pylist(), dtype=object).to_numpy()


def remove_legacy_pickle(path: Path) -> None:
    """Delete a pickle cache an older version left (never read: it could run code)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
