"""The repository's documentation stands on its own in a fresh clone.

The design and the extract contract live in ``docs/`` (``architecture.md``,
``extracts.md``); nothing may point outside the repository for them, and every
relative link in the Markdown files must lead to a file that exists.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Built from parts so that this file does not match its own patterns.
_OUTSIDE = re.compile(r"\.\./" + "shared" + r"|" + "shared" + r"/(?:DESIGN|contracts)")

_SKIP_DIRS = {".git", ".venv", ".tools", "node_modules", "__pycache__", "data", "demo-data"}
_FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[ \t]*$", re.M | re.S)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]"  # [text], one level of nested brackets
    r"\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"  # (target "optional title")
)
_REF_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)


def tracked_files() -> list[Path]:
    """Files git tracks (every file outside tool and data folders without git)."""
    if shutil.which("git") and (ROOT / ".git").exists():
        done = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, timeout=60, check=False
        )
        if done.returncode == 0:
            names = [n for n in done.stdout.decode("utf-8").split("\0") if n]
            return [ROOT / n for n in names if (ROOT / n).is_file()]
    return [
        p
        for p in ROOT.rglob("*")
        if p.is_file() and not _SKIP_DIRS & set(p.relative_to(ROOT).parts)
    ]


def markdown_files() -> list[Path]:
    return sorted(p for p in tracked_files() if p.suffix == ".md")


def relative_links(text: str) -> list[str]:
    """Link targets of a Markdown text that point at repository files.

    Code (fenced blocks, inline spans) is left out; web addresses, mail links and
    links to a heading of the same page are not file links.
    """
    text = _FENCE.sub("", text)
    text = _INLINE_CODE.sub("code", text)
    targets = _INLINE_LINK.findall(text) + _REF_LINK.findall(text)
    return [
        t
        for t in targets
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", t) and not t.startswith(("#", "/"))
    ]


def test_no_file_points_outside_the_repository() -> None:
    offenders = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary
        for n, line in enumerate(text.splitlines(), 1):
            if _OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "references outside the repository:\n" + "\n".join(offenders)


def test_design_and_contract_are_in_the_repository() -> None:
    for name in ("architecture.md", "extracts.md", "extending.md"):
        assert (ROOT / "docs" / name).is_file(), name
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in ("docs/architecture.md", "docs/extracts.md", "docs/extending.md"):
        assert target in relative_links(readme), f"README.md does not link {target}"


@pytest.mark.parametrize(
    "doc",
    [p.relative_to(ROOT).as_posix() for p in markdown_files()] or ["README.md"],
)
def test_relative_links_resolve(doc: str) -> None:
    path = ROOT / doc
    broken = []
    for target in relative_links(path.read_text(encoding="utf-8")):
        file_part = target.split("#", 1)[0].split("?", 1)[0]
        if file_part and not (path.parent / file_part).exists():
            broken.append(target)
    assert not broken, f"{doc}: links to missing files: {broken}"


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("see [`a.md`](a.md) and [b](../b.md#part)", ["a.md", "../b.md#part"]),
        ("[web](https://example.org) [top](#top) [mail](mailto:x@example.org)", []),
        ("```\n[x](missing.md)\n```\nand `[y](missing.md)`", []),
        ('1. step\n\n   ```toml\n   x = "[a](b.md)"\n   ```\n', []),
        ("[ref]: docs/x.md\n", ["docs/x.md"]),
    ],
)
def test_link_extraction(text: str, links: list[str]) -> None:
    assert relative_links(text) == links
