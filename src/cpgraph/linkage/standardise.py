"""Standardise person mentions (input contract) into the columns linkage works on.

The input DataFrame follows the linkage input contract (one row per mention: ``key``,
``system``, match-form names, ``dob``, ``sex``, ``postcode``, identifiers with validity
flags, ``aliases_m``...).  :func:`standardise` returns a frame with a positional index
whose columns are what blocking and comparisons read (``fn``, ``mn``, ``sn``, ``dob_y``,
``pc_sector``, ``id_nhs_number``...).  All work is done once per distinct value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import jellyfish
import numpy as np
import pandas as pd

from cpgraph.linkage.spec import Spec
from cpgraph.text import match_name

_WS = re.compile(r"\s+")

FINGERPRINT_COLUMNS = (
    "forename_m",
    "middle_m",
    "surname_m",
    "former_surname_m",
    "aliases_m",
    "dob",
    "sex",
    "postcode",
    "address",
    "nhs_number",
    "nhs_number_valid",
    "upn",
    "upn_valid",
    "pnc_id",
    "pnc_id_valid",
    "prison_number",
    "cro_number",
    "system",
)


def _match_form_one(s: str) -> str | None:
    # The same folding the loaders store, so FEBRL-style raw input and loaded
    # mentions compare alike.
    return match_name(s)


def match_form(values: pd.Series) -> pd.Series:
    """Match form of names: casefolded, ASCII-folded, no apostrophes, hyphens → space.

    Args:
        values: strings (nulls allowed).

    Returns:
        A Series of the same index; empty results become None.
    """
    uniq = pd.unique(values.dropna().astype(str))
    mapping = {u: _match_form_one(u) for u in uniq}
    return values.map(mapping).astype(object).where(values.notna(), None)


def _clean(col: pd.Series) -> pd.Series:
    """Strings with blanks as None (object dtype); non-string values become None.

    Work is done once per distinct value.
    """
    codes, uniq = pd.factorize(col.astype(object).to_numpy(object), use_na_sentinel=True)
    vals = np.empty(len(uniq) + 1, dtype=object)  # last slot: code -1 (missing) → None
    vals[-1] = None
    for k, v in enumerate(uniq.tolist() if hasattr(uniq, "tolist") else list(uniq)):
        if type(v) is str:
            v = v.strip()
            vals[k] = v or None
        else:
            vals[k] = None
    return pd.Series(vals[codes], index=col.index, dtype=object)


def _per_value(values: pd.Series, fn: Callable[[Any], Any] | None = None) -> np.ndarray:
    """``fn`` applied once per distinct non-null value (None stays None); object array.

    Without ``fn`` the values themselves, equal strings as one object.
    """
    codes, uniq = pd.factorize(values.to_numpy(object), use_na_sentinel=True)
    vals = np.empty(len(uniq) + 1, dtype=object)  # last slot: code -1 (missing) → None
    vals[-1] = None
    vals[:-1] = [fn(u) for u in uniq.tolist()] if fn is not None else list(uniq)
    return vals[codes]


def _phonetic(values: pd.Series, algo: str) -> pd.Series:
    fn = {
        "metaphone": jellyfish.metaphone,
        "soundex": jellyfish.soundex,
        "nysiis": jellyfish.nysiis,
    }[algo]
    uniq = pd.unique(values.dropna())
    mapping = {u: (fn(u.replace(" ", "")) or None) for u in uniq}
    return values.map(mapping).astype(object).where(values.notna(), None)


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


# generational suffixes as the agencies write them, after the surname or the forename
GENERATION = {"jr": "jr", "jnr": "jr", "junior": "jr", "sr": "sr", "snr": "sr", "senior": "sr"}


def split_generation(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Names without a trailing generational suffix, and the suffix ("jr", "sr" or None).

    "poole jnr" → ("poole", "jr"); "poole" → ("poole", None). One agency writes the
    suffix into the surname, another leaves it out: the name itself is "poole" either way.
    """
    # once per distinct name, not per mention
    codes, uniq = pd.factorize(values.to_numpy(object), use_na_sentinel=True)
    u_names = np.append(np.asarray(uniq, dtype=object), None)  # last slot: missing
    u_gen = np.full(len(u_names), None, dtype=object)
    for k, v in enumerate(u_names.tolist()):
        if isinstance(v, str) and " " in v:
            head, _, last = v.rpartition(" ")
            g = GENERATION.get(last)
            if g is not None and head:
                u_names[k], u_gen[k] = head, g
    return u_names[codes], u_gen[codes]


def _split_alias(full: str) -> tuple[str | None, str | None, str | None]:
    parts = full.split()
    if not parts:
        return (None, None, None)
    if len(parts) == 1:
        return (None, None, parts[0])
    return (parts[0], " ".join(parts[1:-1]) or None, parts[-1])


def split_given_names(forenames: np.ndarray, middles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first given name as the forename, the others as middle names.

    Agencies differ in where they put a person's other given names: one has
    ``John`` + middle ``Paul``, another ``John Paul`` in the forename column and no
    middle name (a FHIR ``given`` list, a form with one "first names" box). A
    forename of several names with no middle name recorded is therefore split, so
    both records compare ``john`` with ``john`` and ``paul`` with ``paul``.
    Hyphenated names are already spaced in their match form (``jean paul``): they
    split alike on every record, so they still agree with each other.

    Args:
        forenames: forename match forms (object array, None when missing).
        middles: middle-name match forms, aligned with `forenames`.

    Returns:
        The forenames and middle names to compare (new object arrays).
    """
    fn = np.asarray(forenames, dtype=object).copy()
    mn = np.asarray(middles, dtype=object).copy()
    codes, uniq = pd.factorize(fn, use_na_sentinel=True)
    firsts = np.empty(len(uniq) + 1, dtype=object)
    rests = np.empty(len(uniq) + 1, dtype=object)
    for k, v in enumerate(uniq.tolist()):
        first, _, rest = v.partition(" ") if isinstance(v, str) else (v, "", "")
        firsts[k], rests[k] = first, rest or None
    split = (codes >= 0) & np.equal(mn, None) & np.not_equal(rests[codes], None)
    fn[split] = firsts[codes[split]]
    mn[split] = rests[codes[split]]
    return fn, mn


def _aliases(col: pd.Series, max_aliases: int) -> list[tuple]:
    out: list[tuple] = []
    for v in col.tolist():
        if isinstance(v, str):
            v = [a for a in v.split(";")]
        if not isinstance(v, Iterable) or isinstance(v, bytes):
            out.append(())
            continue
        seen: list[tuple] = []
        for a in v:
            if not isinstance(a, str):
                continue
            a = _WS.sub(" ", a).strip()
            if a:
                t = _split_alias(a)
                if t not in seen:
                    seen.append(t)
        out.append(tuple(seen[:max_aliases]))
    return out


def standardise(mentions: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """Derive linkage columns from contract-shaped mentions.

    Args:
        mentions: one row per mention (input contract; unknown columns pass through).
        spec: the linkage spec (phonetic algorithm, identifier comparisons, alias cap).

    Returns:
        A new frame with a RangeIndex (row position = record id in pair arrays).
    """
    n = len(mentions)
    # (only read here: a frame already on positions is used as it is, not copied whole,
    # ~1 GB at 1.29M mentions)
    plain = isinstance(mentions.index, pd.RangeIndex) and mentions.index.equals(pd.RangeIndex(n))
    df = mentions if plain else mentions.reset_index(drop=True)
    s = pd.DataFrame(index=pd.RangeIndex(n))
    s["key"] = df["key"].astype(str).to_numpy()
    s["grp"] = _clean(_col(df, "system")).fillna("").to_numpy()
    # the source file a mention comes from: ``{system}:{kind}`` (the key without its id)
    kind = _clean(_col(df, "kind")).fillna("").to_numpy(object)
    # one string per distinct source, shared by its mentions (not one per mention)
    src = s["grp"].astype(str) + ":" + pd.Series(kind, dtype=object).astype(str)
    s["src"] = shared_strings(src)
    s["src_kind"] = kind
    fn, gen_f = split_generation(_clean(_col(df, "forename_m")))
    s["fn"], s["mn"] = split_given_names(fn, _clean(_col(df, "middle_m")).to_numpy())
    sn, gen_s = split_generation(_clean(_col(df, "surname_m")))
    s["sn"] = sn
    # Jr / Sr wherever the agency wrote it (None: not written)
    s["gen"] = np.where(gen_s == None, gen_f, gen_s)  # noqa: E711 (object array)
    s["fsn"] = _clean(_col(df, "former_surname_m")).to_numpy()
    s["aliases"] = _aliases(_col(df, "aliases_m"), spec.max_aliases)

    # dates: parsed once per distinct value
    dob = _clean(_col(df, "dob")).astype(object)
    dcodes, duniq = pd.factorize(dob.to_numpy(object), use_na_sentinel=True)
    udt = pd.to_datetime(pd.Series(duniq, dtype=object), format="%Y-%m-%d", errors="coerce")
    uok = np.append(udt.notna().to_numpy(), False)  # last slot: missing
    uy = np.append(udt.dt.year.fillna(-1).astype(np.int32).to_numpy(), -1)
    um = np.append(udt.dt.month.fillna(-1).astype(np.int32).to_numpy(), -1)
    ud = np.append(udt.dt.day.fillna(-1).astype(np.int32).to_numpy(), -1)
    u8 = np.append(udt.dt.strftime("%Y%m%d").where(udt.notna(), None).to_numpy(object), None)
    ok = uok[dcodes]
    s["dob"] = np.where(ok, dob.to_numpy(object), None)
    s["dob8"] = u8[dcodes]
    s["dob_y"] = uy[dcodes]
    s["dob_m"] = um[dcodes]
    s["dob_d"] = ud[dcodes]
    s["dob_ym"] = np.where(ok, s["dob_y"] * 100 + s["dob_m"], -1)
    # blocking keys for dates keyed with a slip (spec v14): the date with its day and
    # month unordered (a day/month swap keeps it), and the birthday without the year (a
    # mistyped year keeps it)
    lo, hi = np.minimum(s["dob_m"], s["dob_d"]), np.maximum(s["dob_m"], s["dob_d"])
    s["dob_dm"] = np.where(ok, s["dob_y"] * 10000 + lo * 100 + hi, -1)
    s["dob_md"] = np.where(ok, s["dob_m"] * 100 + s["dob_d"], -1)

    sex = _clean(_col(df, "sex"))
    s["sex"] = sex.where(sex.isin(["M", "F"]), None).to_numpy()

    pc = pd.Series(
        _per_value(_clean(_col(df, "postcode")), lambda v: _WS.sub(" ", v.upper())), dtype=object
    )
    s["pc"] = pc.to_numpy()
    s["pc_district"] = _per_value(pc, lambda v: v.split(" ")[0])
    s["pc_sector"] = _per_value(pc, lambda v: (v[:-2].strip() or None) if " " in v else None)
    addr = _clean(_col(df, "address"))
    s["address"] = match_form(addr).to_numpy() if n else addr.to_numpy()

    for c in spec.comparisons:
        if c.kind in ("identifier", "string", "category") and c.column not in s.columns:
            vals = pd.Series(
                _per_value(_clean(_col(df, c.column).astype(object)), str.upper), dtype=object
            )
            if c.kind == "identifier":
                if c.valid:
                    valid = _col(df, c.valid).astype(object)
                    vals = vals.where(valid.map(lambda v: v is True or v == 1), None)
                s[f"id_{c.name}"] = vals.to_numpy()
            else:
                s[c.column] = match_form(vals).to_numpy() if c.kind == "string" else vals.to_numpy()
        elif c.kind == "identifier":
            s[f"id_{c.name}"] = s[c.column]

    s["sn_phonetic"] = _phonetic(s["sn"], spec.phonetic).to_numpy()
    s["initials"] = shared_strings(
        pd.Series(
            [
                (f[0] + b[0]) if isinstance(f, str) and isinstance(b, str) else None
                for f, b in zip(s["fn"].tolist(), s["sn"].tolist(), strict=True)
            ],
            dtype=object,
        )
    )
    return s


def shared_strings(values: pd.Series) -> np.ndarray:
    """``values`` as an object array whose equal strings are one object (per distinct
    value: a string built per mention costs ~50 bytes each at a million mentions)."""
    return _per_value(values)


def fingerprint(df: pd.DataFrame) -> np.ndarray:
    """A per-row hash of every column linkage reads (detects changed mentions)."""
    cols = [c for c in FINGERPRINT_COLUMNS if c in df.columns]
    if not cols or len(df) == 0:
        return np.zeros(len(df), dtype=np.uint64)
    # the same hash as of ``df[cols].astype(str)``, without a new string per cell
    sub = pd.DataFrame({c: _str_values(df[c]) for c in cols})
    return pd.util.hash_pandas_object(sub, index=False).to_numpy()


def _str_values(col: pd.Series) -> np.ndarray:
    """``col.astype(str)`` as an object array holding one string per distinct value."""
    values = col.to_numpy(object)
    try:
        codes, uniq = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable values (alias lists): one string per cell
        return col.astype(str).to_numpy(object)
    out = np.empty(len(uniq) + 1, dtype=object)
    out[:-1] = pd.Series(uniq, dtype=object).astype(str).to_numpy(object)
    res = out[codes]
    miss = np.flatnonzero(codes < 0)
    if len(miss):
        # missing values (None, NaN) as astype(str) writes each kind, once per kind
        by_kind: dict[tuple[type, str], str] = {}
        for k, v in zip(miss.tolist(), values[miss].tolist(), strict=True):
            text = str(v)
            res[k] = by_kind.setdefault((type(v), text), text)
    return res


# Variant types: the recorded name, an alternative recorded name (alias, former surname,
# a double-barrelled part), a forename/surname order swap and a forename/middle-name swap
# (swaps are applied to one side of a pair only).  Blocking-only variants (surname parts)
# are not compared: the surname `part` level is.  A middle-name swap is kept apart from an
# order swap because a name comparison may cap the level it can reach (`swap_level`).
V_PRIMARY, V_ALT, V_SWAP, V_BLOCK, V_MSWAP = 0, 1, 2, 3, 4


def name_variants(s: pd.DataFrame) -> pd.DataFrame:
    """Every name a mention carries, one row each: ``rec, vtype, fn, mn, sn``.

    Variants are the recorded name, aliases, the former surname, each part of a
    double-barrelled surname, forename/surname order swap and forename/middle swap.
    Rows are grouped by record, in that order within a record.
    """
    n = len(s)
    f = s["fn"].to_numpy(object)
    m = s["mn"].to_numpy(object)
    b = s["sn"].to_numpy(object)
    fs = s["fsn"].to_numpy(object)
    recs = np.arange(n, dtype=np.int64)
    has_f = np.array([bool(x) for x in f.tolist()], bool)
    has_m = np.array([bool(x) for x in m.tolist()], bool)
    has_b = np.array([bool(x) for x in b.tolist()], bool)
    # (slot, rec, fn, mn, sn) per group of variants; slot orders them within a record
    groups: list[tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = [(0, recs, f, m, b)]
    alt = np.array([bool(x) for x in fs.tolist()], bool) & (fs != b)
    groups.append((1, recs[alt], f[alt], m[alt], fs[alt]))
    # parts of a double-barrelled surname, and aliases: few records have them
    extra: list[tuple[int, int, Any, Any, Any]] = []
    for r in np.flatnonzero([isinstance(x, str) and " " in x for x in b.tolist()]).tolist():
        extra += [(2, r, f[r], m[r], part) for part in b[r].split(" ") if len(part) > 1]
    aliases = s["aliases"].to_numpy(object)
    for r in np.flatnonzero([len(a) > 0 for a in aliases.tolist()]).tolist():
        fr, br = f[r], b[r]
        extra += [
            (3, r, af if af else fr, am, ab) for af, am, ab in aliases[r] if (af, ab) != (fr, br)
        ]
    if extra:
        cols = list(zip(*extra, strict=True))
        groups.append(
            (
                np.asarray(cols[0], np.int64),
                np.asarray(cols[1], np.int64),
                _objects(cols[2]),
                _objects(cols[3]),
                _objects(cols[4]),
            )
        )
    swap = has_f & has_b & (f != b)
    groups.append((4, recs[swap], b[swap], m[swap], f[swap]))
    mswap = has_f & has_m
    first_middle = _objects([x.split(" ")[0] for x in m[mswap].tolist()])
    groups.append((5, recs[mswap], first_middle, f[mswap], b[mswap]))
    slot = np.concatenate([np.broadcast_to(np.asarray(g[0], np.int64), len(g[1])) for g in groups])
    rec = np.concatenate([g[1] for g in groups])
    order = np.lexsort((slot, rec))  # stable: parts and aliases keep their recorded order
    vtypes = np.array([V_PRIMARY, V_ALT, V_BLOCK, V_ALT, V_SWAP, V_MSWAP], np.int8)
    return pd.DataFrame(
        {
            "rec": rec[order],
            "vtype": vtypes[slot[order]],
            "fn": np.concatenate([g[2] for g in groups])[order],
            "mn": np.concatenate([g[3] for g in groups])[order],
            "sn": np.concatenate([g[4] for g in groups])[order],
        }
    )


def _objects(values: Any) -> np.ndarray:
    """A 1-D object array of ``values`` (never a 2-D one)."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out
