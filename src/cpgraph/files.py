"""Files cpgraph writes that may hold personal data or record keys: owner-only (0600)."""

from __future__ import annotations

import os
from pathlib import Path


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
