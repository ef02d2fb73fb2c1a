"""ARI test helpers: the double's credentials, polling, the reference ARI data folder."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
from collections.abc import AsyncIterator, Callable

import pytest

from coovox.sim import AriDouble

USER, PASSWORD = "coovox", "coovox-secret"
SHARED_ARI = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "ari"


async def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    """Poll ``predicate`` until true; fails the test after ``timeout`` s."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def shared_ari() -> pathlib.Path:
    """The reference ARI data folder; skips the test when ../shared/ari is missing."""
    if not SHARED_ARI.is_dir():
        pytest.skip("../shared/ari (reference data) is not available")
    return SHARED_ARI


@contextlib.asynccontextmanager
async def running_double(time_scale: float) -> AsyncIterator[AriDouble]:
    """An ARI double (app ``coovox``, USER/PASSWORD) at ``time_scale`` of real time."""
    sim = AriDouble(app="coovox", user=USER, password=PASSWORD, time_scale=time_scale)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()
