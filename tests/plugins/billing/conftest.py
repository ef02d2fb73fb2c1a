"""Billing test helpers: a fake CallControl driven by hand, accounts, rates, calls."""

from __future__ import annotations

import pytest

from coovox.plugins.billing.metering import Meter
from tests.support.billing import (  # noqa: F401 - shared with the billing tests
    NOON,
    FakeControl,
    call_info,
    make_extensions,
    place_call,
    setup_billing,
)
from tests.support.call_app import double  # noqa: F401 - the ARI double, for the e2e tests


@pytest.fixture
def control() -> FakeControl:
    return FakeControl()


@pytest.fixture
async def meter(coovox) -> Meter:
    return Meter("UTC")
