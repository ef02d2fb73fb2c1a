"""A CooVox opened on a given database (no plugins started), for tests on PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost


@contextlib.asynccontextmanager
async def opened(database_url: str, data_dir: Path) -> AsyncIterator[Coovox]:
    config = load_config(environ={}, data_dir=str(data_dir), database_url=database_url,
                         secret_key="x")
    app = await Coovox(config=config, plugins=PluginHost(load_entry_points=False)).open(
        startup=False)
    try:
        yield app
    finally:
        await app.close()
