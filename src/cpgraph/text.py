"""Name folding shared by ingest, linkage and search, so all three agree on a name.

A *match form* is what two spellings of one name have in common: casefolded,
accents folded to ASCII, apostrophes dropped, hyphens and other punctuation
turned into single spaces ("Nowak-Łukasik" and "nowak lukasik" are equal).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_WS_RE = re.compile(r"\s+")
# Letters that NFKD leaves alone (they are letters of their own, not accented
# forms), folded by hand so "Łukasik" matches "Lukasik".
_FOLD = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ß": "ss",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ħ": "h",
        "ŀ": "l",
        "ŧ": "t",
    }
)
_APOSTROPHES_RE = re.compile(r"['’‘`´ʼ]")
_NON_ALNUM_RE = re.compile(r"[^a-z0-9 ]+")


@lru_cache(maxsize=1 << 16)  # names, dates and postcodes repeat a lot
def match_name(value: str | None) -> str | None:
    """The match form of a name.

    Casefolded, accents folded to ASCII (``Zoë`` → ``zoe``, ``Łukasik`` →
    ``lukasik``), apostrophes removed (``O'Neil`` → ``oneil``), hyphens, other
    punctuation and whitespace runs turned into one space.

    Returns:
        The match form, or ``None`` when nothing letter-like is left.
    """
    if not value:
        return None
    if value.isascii():
        # most values: nothing to fold but case (the same result, without the per-
        # character Unicode pass)
        text = value.lower()
    else:
        text = unicodedata.normalize("NFKD", value.casefold().translate(_FOLD))
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
        # NFKD can expose letters the table folds (e.g. from ligatures); fold again.
        text = text.translate(_FOLD)
    text = _APOSTROPHES_RE.sub("", text)
    text = _NON_ALNUM_RE.sub(" ", text)
    text = _WS_RE.sub(" ", text).strip()
    return text or None
