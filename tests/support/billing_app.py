"""The real app with calls and billing against the ARI double (``billing_app``, registered in
tests/conftest.py), and billing seeds for it and for app processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from coovox.context import Coovox
from coovox.models import set_setting
from coovox.plugin_host import PluginHost
from coovox.plugins.billing import services
from coovox.plugins.billing.models import BillingCall
from tests.support.call_app import app_config, seed

PER_SECOND = {"prefix": "9", "initial_cost": "0", "initial_time": 0, "rate": "0.01",
              "unit": 1, "extensions": "all"}
# billing_seed's rate: 0.02 at answer, then 0.01 a second
SEED_RATE = {**PER_SECOND, "initial_cost": "0.02"}


async def open_billing_app(tmp_path, double, plugins=()) -> Coovox:
    """Calls + billing (and ``plugins``) against the double with short dial timings,
    connected, reconciled, seeded (tests/support/call_app.py), billing active."""
    coovox = Coovox(config=app_config(tmp_path, double),
                    plugins=PluginHost(load_entry_points=False, extra=list(plugins)))
    await coovox.open()
    ctl = coovox.services["calls"]
    ctl.dial_timeout, ctl.dial_grace, ctl.refuse_tone_seconds, ctl.cause_wait = 1, 2.0, 0.1, 0.5
    await ctl.ari.wait_connected(10)
    await asyncio.wait_for(ctl.reconciled.wait(), 10)
    await seed()
    await set_setting("billing", "active", True)
    return coovox


@pytest.fixture
async def billing_app(tmp_path, double) -> AsyncIterator[Coovox]:
    """Calls + billing against the double, seeded, billing active, 0.01 a second."""
    coovox = await open_billing_app(tmp_path, double)
    await services.create_rate(PER_SECOND)
    try:
        yield coovox
    finally:
        await coovox.close()


async def settled_bill(call_id: str, timeout: float = 5.0) -> BillingCall:
    """The call's bill once it is settled (waits up to ``timeout`` s)."""
    async with asyncio.timeout(timeout):
        while True:
            row = await BillingCall.get_or_none(call_id=call_id)
            if row is not None and row.settled:
                return row
            await asyncio.sleep(0.05)


async def account(ext: str, balance: str = "0", credit: str = "0", **changes) -> None:
    """Enable billing for ``ext`` with that credit (and changes), recharged with ``balance``."""
    await services.update_accounts([ext], {"enabled": True, "credit": Decimal(credit),
                                           **changes})
    if Decimal(balance):
        await services.recharge([ext], balance, "test", datetime.now(UTC))


async def billing_seed(balances: dict[str, str]) -> None:
    """The calls seed plus active billing, ``SEED_RATE`` and the given balances (credit 0.5)."""
    await seed()
    await set_setting("billing", "active", True)
    await services.create_rate(SEED_RATE)
    for ext, balance in balances.items():
        await services.update_accounts([ext], {"enabled": True, "credit": Decimal("0.5")})
        await services.recharge([ext], balance, "test", datetime.now(UTC))
