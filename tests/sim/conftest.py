"""Fixture: a running ARI double at a tenth of real time (helpers in tests/support/ari.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from coovox.sim import AriDouble
from tests.support.ari import PASSWORD, USER


@pytest.fixture
async def double() -> AsyncIterator[AriDouble]:
    sim = AriDouble(app="coovox", user=USER, password=PASSWORD, time_scale=0.1)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()
