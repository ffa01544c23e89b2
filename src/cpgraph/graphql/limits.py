"""API limits: query size, page sizes, time.

Read from `Settings` when it has the `api_*` fields, else the defaults here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ApiLimits:
    """Limits that protect the API from abusive or accidental huge queries."""

    max_depth: int = 12
    max_aliases: int = 15
    max_tokens: int = 2000
    max_page_size: int = 100
    max_network_nodes: int = 500
    max_network_depth: int = 3
    request_timeout_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: Any) -> ApiLimits:
        """Take each limit from `settings.api_<name>` when present."""
        defaults = cls()
        values = {
            name: getattr(settings, f"api_{name}", getattr(defaults, name))
            for name in cls.__dataclass_fields__
        }
        return cls(**values)
