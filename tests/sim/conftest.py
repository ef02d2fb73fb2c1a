"""Fixtures: a running ARI double and the reference data folder."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator

import pytest

from coovox.sim import AriDouble

SHARED_ARI = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "ari"
USER, PASSWORD = "coovox", "coovox-secret"


def shared_ari() -> pathlib.Path:
    if not SHARED_ARI.is_dir():
        pytest.skip("../shared/ari (reference data) is not available")
    return SHARED_ARI


@pytest.fixture
async def double() -> AsyncIterator[AriDouble]:
    sim = AriDouble(app="coovox", user=USER, password=PASSWORD, time_scale=0.1)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()
