"""Running a command's body against the configured graph store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from cpgraph.config import Settings, load_settings
from cpgraph.store import GraphStore, create_store


def run_with_store[T](body: Callable[[GraphStore, Settings], Awaitable[T]]) -> T:
    """Start the configured store, run `body`, and always close the store.

    Args:
        body: what to do with the started store and the settings.

    Returns:
        What `body` returned.

    Raises:
        ConfigError: the environment's settings are invalid.
    """
    settings = load_settings()

    async def _go() -> T:
        async with create_store(settings) as store:
            return await body(store, settings)

    return asyncio.run(_go())
