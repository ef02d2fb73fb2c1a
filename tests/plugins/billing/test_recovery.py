"""A call finished in the call log but never settled (the process died between the two) is
settled by billing's sweep, as its end would have: the charges it still owes, its cost,
once, never past the funds or its money cap."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from coovox.hooktypes import GateDecision
from coovox.plugins.billing.check import check_invariants
from coovox.plugins.billing.metering import Meter
from coovox.plugins.billing.models import Account, BillingCall, Ledger
from coovox.plugins.billing.recovery import GRACE, settle_missed
from coovox.plugins.calls.gates import decisions_to_json
from coovox.plugins.calls.models import Call
from tests.support.billing import NOON, call_info, setup_billing

ONE_SECOND = {"prefix": "", "initial_cost": "0", "initial_time": 0, "rate": "0.01", "unit": 1,
              "extensions": "all"}
NOW = NOON + timedelta(minutes=10)


async def metered_then_died(meter, control, call_id: str, live: float, talk: float,
                            *, status: str = "answered", ended_ago: float = 60,
                            decisions=None) -> None:
    """Gate and answer ``call_id``, charge it live to ``live`` seconds; then its record is
    finished with ``talk`` seconds of talk and billing never hears of it (the process died)."""
    info = call_info(call_id)
    await meter.answered(info, control, await meter.gate(info), False)
    await control.run_until(call_id, live)
    ended = NOW - timedelta(seconds=ended_ago)
    await Call.create(id=call_id, started_at=info.started_at, answered_at=info.started_at,
                      ended_at=None if status == "active" else ended, extension="100",
                      extension_name="Ext 100", dialed=info.dialed, trunk="t1", status=status,
                      talk_time=None if status == "active" else talk,
                      billed_talk_time=None if status == "active" else talk,
                      decisions=decisions or {})


async def balance() -> Decimal:
    return (await Account.get(extension="100")).balance


async def test_the_sweep_charges_and_settles_a_call_ended_while_billing_was_dead(meter, control):
    await setup_billing(balance="1", rate=ONE_SECOND)
    await metered_then_died(meter, control, "c1", live=3, talk=10)
    assert await balance() < 1  # charged live (ahead) before the crash
    assert await settle_missed(Meter(), NOW) == 1  # a new process's meter
    bill = await BillingCall.get(call_id="c1")
    assert (bill.settled, bill.cost, bill.billed_time) == (True, Decimal("0.10"), 10)
    assert await balance() == Decimal("0.90")
    assert await settle_missed(Meter(), NOW) == 0  # settled once
    assert await Ledger.filter(call_id="c1", kind="settle").count() <= 1
    assert await check_invariants() == []


async def test_the_sweep_never_bills_past_the_funds(meter, control):
    await setup_billing(balance="0.05", rate=ONE_SECOND)
    await metered_then_died(meter, control, "c1", live=2, talk=30)
    assert await settle_missed(Meter(), NOW) == 1
    bill = await BillingCall.get(call_id="c1")
    assert (bill.cost, bill.billed_time) == (Decimal("0.05"), 5)
    assert await balance() == Decimal(0)
    assert await check_invariants() == []


async def test_the_sweep_keeps_a_gates_money_cap(meter, control):
    await setup_billing(balance="1", rate=ONE_SECOND)
    capped = decisions_to_json({"cap": GateDecision("cap", money_cap=Decimal("0.04"))}, None, "")
    await metered_then_died(meter, control, "c1", live=2, talk=30, decisions=capped)
    assert await settle_missed(Meter(), NOW) == 1
    assert (await BillingCall.get(call_id="c1")).cost == Decimal("0.04")
    assert await balance() == Decimal("0.96")


async def test_live_and_just_ended_calls_are_left_to_their_process(meter, control):
    await setup_billing(balance="1", rate=ONE_SECOND)
    await metered_then_died(meter, control, "live", live=3, talk=0, status="active")
    await metered_then_died(meter, control, "just", live=3, talk=4, ended_ago=GRACE / 2)
    assert await settle_missed(Meter(), NOW) == 0
    assert not await BillingCall.filter(settled=True).exists()
    assert await settle_missed(Meter(), NOW + timedelta(seconds=GRACE)) == 1
    assert (await BillingCall.get(call_id="just")).settled
    assert not (await BillingCall.get(call_id="live")).settled
