"""Reliability helpers: the heavy-variant switch and the test's own database connection."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from coovox.context import Coovox
from coovox.plugin_host import PluginHost


def heavy() -> bool:
    """Long variants (more calls, longer runs) only with ``COOVOX_HEAVY=1``."""
    return os.environ.get("COOVOX_HEAVY") == "1"


@asynccontextmanager
async def local_coovox(config) -> AsyncIterator[Coovox]:
    """The test's own connection to the database an app process uses (no ARI, no web)."""
    app = Coovox(config=config, plugins=PluginHost(load_entry_points=False))
    await app.open(startup=False)
    try:
        yield app
    finally:
        await app.close()
