"""A gate's money cap (GateDecision.money_cap) and billing's read API (coovox.api).

The issue's example: a spend cap of 0.03 let a call at 0.02 per 1-s unit spend 0.05.
With the cap in money, billing converts it at the call's rate and cuts the call at the
unit that would pass it: the call costs 0.02.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from coovox.api import CORE_EVENTS, BillingReader, Coovox, GateDecision, Rating, hookimpl
from coovox.plugins.billing import services
from coovox.plugins.billing.check import check_invariants
from coovox.plugins.billing.models import Account, BillingCall
from coovox.sim import FarEnd
from tests.support.billing import call_info, setup_billing
from tests.support.billing_app import open_billing_app, settled_bill
from tests.support.call_app import finished

TWO_CENTS = {"prefix": "9", "initial_cost": "0", "initial_time": 0, "rate": "0.02", "unit": 1,
             "extensions": "all"}
CAP = Decimal("0.03")


async def balance(ext: str = "100") -> Decimal:
    return (await Account.get(extension=ext)).balance


async def test_money_cap_stops_the_call_at_the_unit_it_would_pass(meter, control):
    await setup_billing(balance="1", rate=TWO_CENTS)
    info = replace(call_info("c1"), money_cap=CAP)
    await meter.answered(info, control, await meter.gate(info), False)
    await control.run_until("c1", 60)
    assert control.cut_of("c1") == ("c1", "money cap reached", 1.0)
    await meter.ended(info, {"status": "answered", "talk_time": 1.02,
                             "billed_talk_time": 1.0})
    assert (await BillingCall.get(call_id="c1")).cost == Decimal("0.02")
    assert await balance() == Decimal("0.98")  # not 0.95: the cap holds
    assert await check_invariants() == []


async def test_settlement_never_bills_past_the_money_cap(meter, control):
    """A call that ended before its cut (a hangup racing the timer) is billed within it."""
    await setup_billing(balance="1", rate=TWO_CENTS)
    info = replace(call_info("c2"), money_cap=CAP)
    await meter.answered(info, control, await meter.gate(info), False)
    await meter.ended(info, {"status": "answered", "talk_time": 5.0})
    assert (await BillingCall.get(call_id="c2")).cost == Decimal("0.02")
    assert await balance() == Decimal("0.98")


async def test_without_a_money_cap_the_call_runs_on(meter, control):
    await setup_billing(balance="1", rate=TWO_CENTS)
    info = call_info("c3")
    await meter.answered(info, control, await meter.gate(info), False)
    await control.run_until("c3", 5)
    # charged ahead: 30 s of 0.02 units taken at answer (the debit interval's default)
    assert control.cuts == [] and await balance() == Decimal("0.40")


# --- end to end: a third-party gate caps by money --------------------------------------------


class SpendCap:
    """A plugin written only with coovox.api: each call may cost at most CAP."""

    PLUGIN_NAME = "spend-cap"

    @staticmethod
    @hookimpl
    def coovox_call_gate(coovox, call):
        return GateDecision("spend-cap", money_cap=CAP)


class Listener:
    PLUGIN_NAME = "listener"
    events: list = []

    @staticmethod
    @hookimpl
    def coovox_event(event):
        Listener.events.append(event)


@pytest.fixture
async def app(tmp_path, double) -> AsyncIterator[Coovox]:
    Listener.events = []
    coovox = await open_billing_app(tmp_path, double, [SpendCap, Listener])
    await services.create_rate(TWO_CENTS)
    await services.update_accounts(["100"], {"enabled": True, "credit": Decimal(0)})
    await services.recharge(["100"], "1", "test", coovox.now())
    try:
        yield coovox
    finally:
        await coovox.close()


async def test_a_real_call_capped_at_003_costs_002(app, double):
    double.far_end("123450", FarEnd())  # answers and never hangs up
    await double.place_call("100", "9123450")
    (row,) = await finished(timeout=15)
    assert (row.status, row.reason) == ("answered", "money cap reached")
    assert row.billed_talk_time == pytest.approx(1.0)
    assert (await settled_bill(row.id)).cost == Decimal("0.02")
    assert await balance() == Decimal("0.98")
    async with asyncio.timeout(5):
        while not any(e.name == "call.ended" for e in Listener.events):
            await asyncio.sleep(0.02)
    names = [e.name for e in Listener.events if e.name.startswith("call.")]
    assert names[:2] == ["call.started", "call.answered"] and names[-2:] == ["call.cut",
                                                                             "call.ended"]
    started = next(e for e in Listener.events if e.name == "call.started")
    assert started.data["money_cap"] == "0.03" and started.data["extension"] == "100"
    fields = {t.name: set(t.fields) for t in CORE_EVENTS}
    assert all(set(e.data) == fields[e.name] for e in Listener.events if e.name in fields)
    charged = [e.data for e in Listener.events if e.name == "call.charged"]
    assert [c["spent"] for c in charged][-1] == "0.0200"


# --- the read API ---------------------------------------------------------------------------


async def test_read_api_balance_spend_rate_and_cost(app, double):
    billing = app.services["billing"]
    assert isinstance(billing, BillingReader)
    assert await billing.balance("100") == Decimal("1")
    assert await billing.available("100") == Decimal("1")
    assert await billing.balance("nobody") is None
    rating = await billing.rating("100", "9123450")
    assert isinstance(rating, Rating)
    assert (rating.rate, rating.unit, rating.price_per_minute) == (Decimal("0.02"), 1,
                                                                  Decimal("1.2"))
    assert await billing.rating("100", "0555") is None  # no rate for that number
    assert billing.cost(rating, 10) == Decimal("0.2")
    assert billing.talk_time_for(rating, CAP) == 1.0
    double.far_end("123450", FarEnd(hangup_after=2.5))
    await double.place_call("100", "9123450")
    (row,) = await finished(timeout=15)
    await settled_bill(row.id)
    today = app.now().date()
    spent = await billing.spend("100", today, today)
    assert spent == (await BillingCall.get(call_id=row.id)).cost > 0
    assert await billing.spend("100", date(2000, 1, 1), date(2000, 1, 2)) == 0


async def test_billing_publishes_charges_and_the_low_balance_warning(meter, control):
    from coovox.api import CORE_EVENTS
    from tests.support.billing import place_call

    fields = {t.name: set(t.fields) for t in CORE_EVENTS}
    published: list[tuple[str, dict]] = []
    meter.publish = lambda name, source, **data: published.append((name, data))
    await setup_billing(balance="0.10", rate={**TWO_CENTS, "rate": "0.01"}, warning=3)
    await place_call(meter, control, "c1", 60)
    assert all(set(data) == fields[name] for name, data in published)
    charges = [d for n, d in published if n == "call.charged"]
    assert [c["spent"] for c in charges][-1] == "0.1000"
    (low,) = [d for n, d in published if n == "balance.low"]
    assert (low["extension"], low["call_id"], low["seconds_left"]) == ("100", "c1", 3.0)
