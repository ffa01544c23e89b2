"""Where a file ends inside a record: the signs of a half-written extract file.

The contract (``docs/extracts.md``) asks every CSV record, the last one included, to
end with a line break; a record the file ends inside — no line end, or a quoted
field never closed — is a truncated row. A bundle file whose JSON breaks off is a
truncated bundle. The validator and the loaders read both alike.
"""

from __future__ import annotations

import json

_START, _PLAIN, _QUOTED, _QUOTE_IN_QUOTED = range(4)


def open_quote(raw: str) -> bool:
    """True when ``raw`` (one CSV record's text) ends inside a quoted field.

    Follows the ``csv`` module's lenient reading (``strict=False``): a quote only
    opens a quoted field at the start of a field; ``""`` inside one is a literal quote.
    """
    state = _START
    for ch in raw:
        if state == _QUOTED:
            if ch == '"':
                state = _QUOTE_IN_QUOTED
        elif state == _QUOTE_IN_QUOTED:
            state = _QUOTED if ch == '"' else (_START if ch in ",\r\n" else _PLAIN)
        elif ch in ",\r\n":
            state = _START
        elif state == _START and ch == '"':
            state = _QUOTED
        else:
            state = _PLAIN
    return state == _QUOTED


def record_cut_short(raw: str) -> bool:
    """True when a CSV file ended inside this, its last record (raw text as read)."""
    return not raw.endswith(("\n", "\r")) or open_quote(raw)


def json_cut_short(data: bytes) -> bool:
    """True when ``data`` is JSON that stops before its end (a half-written file).

    An unterminated string, or a document that breaks off where more was expected
    at its very end, is cut short; any other error is just not JSON.
    """
    try:
        text = data.decode("utf-8-sig")
        json.loads(text)
    except json.JSONDecodeError as exc:
        return exc.msg.startswith("Unterminated string") or exc.pos >= len(text.rstrip())
    except (ValueError, RecursionError):
        return False
    return False


__all__ = ["json_cut_short", "open_quote", "record_cut_short"]
