"""Reliability fixtures: the money checker after every scenario, heavy switch, meter."""

from __future__ import annotations

import os

import pytest

from coovox.plugins.billing.metering import Meter


def heavy() -> bool:
    """Long variants (more calls, longer runs) only with ``COOVOX_HEAVY=1``."""
    return os.environ.get("COOVOX_HEAVY") == "1"


@pytest.fixture
async def meter(coovox) -> Meter:
    return Meter("UTC")
