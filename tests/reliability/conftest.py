"""Reliability fixtures: the money checker after every scenario, heavy switch, meter."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from coovox.plugins.billing.metering import Meter
from tests.plugins.billing.conftest import control  # noqa: F401
from tests.support.call_app import double  # noqa: F401


def heavy() -> bool:
    """Long variants (more calls, longer runs) only with ``COOVOX_HEAVY=1``."""
    return os.environ.get("COOVOX_HEAVY") == "1"


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked ``heavy`` run only with ``COOVOX_HEAVY=1``."""
    if heavy():
        return
    skip = pytest.mark.skip(reason="heavy variant: set COOVOX_HEAVY=1")
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
async def meter(coovox) -> Meter:
    return Meter("UTC")


@asynccontextmanager
async def local_coovox(config) -> AsyncIterator[Coovox]:
    """The test's own connection to the database an app process uses (no ARI, no web)."""
    app = Coovox(config=config, plugins=PluginHost(load_entry_points=False))
    await app.open(startup=False)
    try:
        yield app
    finally:
        await app.close()
