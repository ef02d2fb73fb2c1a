"""Charging ahead and ``kill -9``: a call holding units charged ahead when the app dies is
settled exactly after the restart (cost = the formula of its billed time, the units not
reached given back), whether it is resumed or ended while the app was dead."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from coovox.models import set_setting
from coovox.plugins.billing import services
from coovox.plugins.billing.models import Account, BillingCall, Ledger
from coovox.plugins.billing.rating import RateRule, cost
from coovox.plugins.calls.models import Call
from coovox.sim import FarEnd
from tests.reliability.books import assert_books, books_settled
from tests.reliability.proc import App, until
from tests.support.call_app import app_config, seed
from tests.support.reliability import local_coovox

RATE = {"prefix": "9", "initial_cost": "0.02", "initial_time": 0, "rate": "0.01", "unit": 1,
        "extensions": "all"}
RULE = RateRule(id=1, initial_cost=Decimal("0.02"), rate=Decimal("0.01"), unit=1)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("ended_while_dead", [False, True])
async def test_a_call_charged_ahead_then_killed_settles_exactly(tmp_path, double,
                                                                 ended_while_dead):
    config = app_config(tmp_path, double)
    log = tmp_path / "app.log"
    async with local_coovox(config):
        await seed()
        await set_setting("billing", "active", True)
        await set_setting("billing", "debit_interval", 30)
        await services.create_rate(RATE)
        await services.update_accounts(["100"], {"enabled": True})
        await services.recharge(["100"], "10", "test", datetime.now(UTC))
        app = App(config.data_dir, double.url, log)
        try:
            await app.start()
            await double.wait_connected(30)
            double.far_end("500000", FarEnd())
            caller = await double.place_call("100", "9500000")
            await until(lambda: Ledger.filter(kind="charge").exists(), 15, "the first block")
            call = await Call.first()
            held = (await BillingCall.get(call_id=call.id)).charged
            assert held == Decimal("0.32")  # initial cost + 30 s of units, at answer
            await asyncio.sleep(1.0)
            await app.kill()
            if ended_while_dead:
                await double.phone_hangup(caller)
            await asyncio.sleep(1.0)
            app = App(config.data_dir, double.url, log)
            await app.start()
            if not ended_while_dead:
                async def resumed() -> bool:
                    return "resumed after" in log.read_text(errors="replace")

                await until(resumed, 30, "the call resumed")
                await asyncio.sleep(1.5)
                await double.phone_hangup(caller)
            await until(books_settled, 30, "settled")
        finally:
            await app.stop()
        bill = await BillingCall.get(call_id=call.id)
        assert bill.settled and bill.cost == cost(RULE, bill.billed_time) < held
        assert (await Account.get(extension="100")).balance == Decimal("10") - bill.cost
        refunds = await Ledger.filter(call_id=call.id, kind="settle").values_list(
            "amount", flat=True)
        assert refunds == [bill.cost - held]  # the units not reached, given back
        assert await Ledger.filter(call_id=call.id, kind="charge").count() == 1
        assert "Traceback" not in log.read_text(errors="replace")
        await assert_books()
