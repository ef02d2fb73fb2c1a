"""A metered call survives a kill -9 of the app: no charge lost or doubled after resume."""

from __future__ import annotations

from decimal import Decimal

import pytest

from coovox.models import set_setting
from coovox.plugins.billing import services
from coovox.plugins.billing.check import check_invariants
from coovox.plugins.billing.models import Account, BillingCall, Ledger
from coovox.plugins.calls.models import Call
from tests.support.restart import App
from tests.support.restart import until as _until


@pytest.mark.timeout(90)
@pytest.mark.parametrize("interval", [0, 30])
async def test_metering_resumes_after_a_kill(tmp_path, double, interval):
    """Each unit charged when due (0), or charged ahead (30 s: the 8 affordable units in
    one charge at answer): after the kill the call is still cut at 8 s, billed 0.08."""
    async with App(tmp_path, double) as app:
        await app.local.set_plugin_enabled("billing", True)
        await set_setting("billing", "active", True)
        await set_setting("billing", "debit_interval", interval)
        await services.create_rate({"prefix": "9", "initial_cost": "0", "initial_time": 0,
                                    "rate": "0.01", "unit": 1, "extensions": "all"})
        await services.update_accounts(["100"], {"enabled": True})
        await services.recharge(["100"], "0.08", "test", app.local.now())
        await app.spawn()
        await double.wait_connected(30)
        await double.place_call("100", "9123455")  # answers and waits
        row = await _until(lambda: Call.filter(answered_at__isnull=False).first(), 15, "answer")
        await _until(lambda: Ledger.filter(call_id=row.id).count(), 10, "a live charge")
        await app.kill()
        charged_before = (await BillingCall.get(call_id=row.id)).charged
        if interval:
            assert charged_before == Decimal("0.08")  # the largest affordable block
        else:
            assert Decimal(0) < charged_before < Decimal("0.08")
        await app.spawn()
        done = await _until(lambda: Call.exclude(status="active").first(), 45, "the cut")
        assert (done.id, done.reason) == (row.id, "insufficient funds")
        bill = await _until(lambda: BillingCall.get_or_none(call_id=row.id, settled=True), 10,
                            "settlement")
        assert bill.cost == Decimal("0.08") and bill.billed_time == 8
        assert (await Account.get(extension="100")).balance == Decimal(0)
        charges = await Ledger.filter(call_id=row.id, amount__gt=0).count()
        assert charges == (1 if interval else 8)
        assert await check_invariants() == []
        assert "resumed" in app.output()
