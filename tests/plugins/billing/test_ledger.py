"""A charge is taken once: retries of a taken (call, seq) change nothing."""

from __future__ import annotations

from decimal import Decimal

from coovox.plugins.billing import ledger, services
from coovox.plugins.billing.check import check_invariants
from coovox.plugins.billing.ledger import ChargeResult
from coovox.plugins.billing.models import Account, BillingCall, Ledger
from tests.support.billing import setup_billing


async def test_a_retried_charge_counts_once_even_when_the_balance_is_used_up(coovox):
    await setup_billing(balance="0.1")
    rate = (await services.active_rules())[0].to_json()
    await ledger.create_call("c1", "100", "Ext 100", rate)
    assert await ledger.charge("c1", "100", 0, Decimal("0.1")) is ChargeResult.TAKEN
    # the retry of a charge whose commit was not acknowledged: taken, not refused
    assert await ledger.charge("c1", "100", 0, Decimal("0.1")) is ChargeResult.TAKEN
    assert (await Account.get(extension="100")).balance == Decimal("0")
    assert (await BillingCall.get(call_id="c1")).charged == Decimal("0.1")
    assert await ledger.charge("c1", "100", 1, Decimal("0.02")) is ChargeResult.REFUSED
    assert await Ledger.filter(call_id="c1").count() == 1  # a refusal writes nothing
    await ledger.settle("c1", Decimal("0.1"), 30, "2026-11-20", True)
    assert await ledger.charge("c1", "100", 0, Decimal("0.1")) is ChargeResult.TAKEN
    assert await ledger.charge("c1", "100", 1, Decimal("0")) is ChargeResult.ENDED
    assert await Ledger.filter(call_id="c1").count() == 1
    assert (await Account.get(extension="100")).balance == Decimal("0")
    assert await check_invariants() == []
