"""Fast integer-array set operations (hash-based; numpy's sort-based ones are slower).

Pair arrays are handled as int64 codes ``i * n + j``; these helpers deduplicate and test
membership of such codes without sorting the large input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def unique_sorted(x: np.ndarray) -> np.ndarray:
    """``np.unique(x)`` for an int64 array: hash-based deduplication, then a sort."""
    u = pd.unique(np.asarray(x, np.int64))
    u.sort()
    return u


def isin(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.isin(x, values)`` for int64 arrays, hash-based."""
    x = np.asarray(x, np.int64)
    if not len(values) or not len(x):
        return np.zeros(len(x), bool)
    return pd.Series(x).isin(np.asarray(values, np.int64)).to_numpy()
