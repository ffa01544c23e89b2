"""The terminal: the rich consoles every command writes to (stdout and stderr)."""

from __future__ import annotations

from rich.console import Console

console = Console()
err_console = Console(stderr=True)
