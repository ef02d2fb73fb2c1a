"""Fixture: a running ARI double at a tenth of real time (helpers in tests/support/ari.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from coovox.sim import AriDouble
from tests.support.ari import running_double


@pytest.fixture
async def double() -> AsyncIterator[AriDouble]:
    async with running_double(0.1) as sim:
        yield sim
