"""Shared billing fixtures (registered in tests/conftest.py): a hand-driven CallControl, a
meter, and web clients of a billing user."""

from __future__ import annotations

import pytest

from coovox.plugins.billing.metering import Meter
from coovox.users import create_token, create_user
from tests.support.billing import FakeControl, make_extensions
from tests.support.web import sign_in

BILLING_PASSWORD = "Bill-pass-123"


@pytest.fixture
def control() -> FakeControl:
    return FakeControl()


@pytest.fixture
async def meter(coovox) -> Meter:
    return Meter("UTC")


@pytest.fixture
async def billing_api(client, coovox):
    """A web client with the bearer token of billing user ``bill-abc``; extensions 100-102."""
    await create_user("bill-abc", BILLING_PASSWORD, role="billing")
    _, token = await create_token("bill-abc")
    client.headers = {"Authorization": f"Bearer {token}"}
    await make_extensions("100", "101", "102")
    return client


@pytest.fixture
async def billing_client(client, coovox):
    """A web client signed in as billing user ``bill-xyz``; extensions 100-102."""
    await create_user("bill-xyz", BILLING_PASSWORD, role="billing")
    await make_extensions("100", "101", "102")
    client.csrf = await sign_in(client, "bill-xyz", BILLING_PASSWORD)
    return client


@pytest.fixture
async def bare_billing_client(client, coovox):
    """A web client signed in as billing user ``bill-bug``; no extensions yet."""
    await create_user("bill-bug", BILLING_PASSWORD, role="billing")
    client.csrf = await sign_in(client, "bill-bug", BILLING_PASSWORD)
    return client
