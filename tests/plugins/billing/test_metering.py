"""Live metering with a fake CallControl: charges when due, cut-off, warning, settlement."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from coovox.models import set_setting
from coovox.plugins.billing import services
from coovox.plugins.billing.check import check_invariants
from coovox.plugins.billing.models import Account, BillingCall, Ledger
from tests.support.billing import call_info, place_call, setup_billing

ONE_SECOND = {"prefix": "", "initial_cost": "0", "initial_time": 0, "rate": "0.01", "unit": 1,
              "extensions": "all"}


async def balance(ext: str = "100") -> Decimal:
    return (await Account.get(extension=ext)).balance


async def test_charges_fall_due_at_answer_and_each_boundary(meter, control):
    await setup_billing(balance="1")
    info = call_info("c1")
    decision = await meter.gate(info)
    await meter.answered(info, control, decision, False)
    assert await balance() == Decimal("0.9")          # initial cost at answer
    await control.run_until("c1", 60)
    assert await balance() == Decimal("0.88")         # boundary at 60 s reached
    await control.run_until("c1", 114.9)
    assert await balance() == Decimal("0.88")
    await control.run_until("c1", 116)
    assert await balance() == Decimal("0.86")
    await meter.ended(info, {"status": "answered", "talk_time": 116})
    row = await BillingCall.get(call_id="c1")
    assert row.cost == Decimal("0.14") and row.charged == row.cost
    assert await check_invariants() == []


async def test_hangup_exactly_at_a_boundary_is_settled_back_to_the_formula(meter, control):
    await setup_billing(balance="1")
    info = call_info("c1")
    await meter.answered(info, control, await meter.gate(info), False)
    await control.run_until("c1", 115)  # the boundary at 115 fired: 0.02 taken live
    assert await balance() == Decimal("0.86")
    await meter.ended(info, {"status": "answered", "talk_time": 115})
    assert (await BillingCall.get(call_id="c1")).cost == Decimal("0.12")
    assert await balance() == Decimal("0.88")
    assert await Ledger.filter(call_id="c1", kind="settle").count() == 1
    assert await check_invariants() == []


async def test_prepaid_call_is_cut_at_the_first_boundary_it_cannot_pay(meter, control):
    await setup_billing(balance="0.05", rate=ONE_SECOND)
    record = await place_call(meter, control, "c1", 60)
    assert control.cut_of("c1") == ("c1", "insufficient funds", 5.0)
    assert record["billed_talk_time"] == 5.0
    assert await balance() == Decimal("0")
    assert (await BillingCall.get(call_id="c1")).cost == Decimal("0.05")
    assert await check_invariants() == []


async def test_postpaid_spends_its_credit_and_never_below(meter, control):
    await setup_billing(balance="0", credit="0.03", rate=ONE_SECOND)
    await services.update_accounts(["100"], {"payment_type": "postpaid"})
    await place_call(meter, control, "c1", 60)
    assert control.cut_of("c1")[2] == 3.0
    assert await balance() == Decimal("-0.03")


async def test_recharge_during_a_call_lets_it_go_on(meter, control):
    await setup_billing(balance="0.05", rate=ONE_SECOND)
    info = call_info("c1")
    await meter.answered(info, control, await meter.gate(info), False)
    await control.run_until("c1", 3)
    await services.recharge(["100"], "0.05", "test", info.started_at)
    await control.run_until("c1", 60)
    assert control.cut_of("c1")[2] == 10.0


async def test_warning_tone_before_a_certain_cut(meter, control):
    await setup_billing(balance="0.10", rate=ONE_SECOND, warning=3)
    await place_call(meter, control, "c1", 60)
    assert len(control.tones) == 1
    assert control.tones[0][1] == "prompt:low-balance" and control.tones[0][2] == 7.0
    assert control.cut_of("c1")[2] == 10.0


async def test_no_warning_when_recharged_in_time(meter, control):
    await setup_billing(balance="0.10", rate=ONE_SECOND, warning=3)
    info = call_info("c1")
    await meter.answered(info, control, await meter.gate(info), False)
    await control.run_until("c1", 5)
    await services.recharge(["100"], "10", "test", info.started_at)
    await control.run_until("c1", 30)
    assert control.tones == [] and control.cuts == []


async def test_resumed_call_charges_missed_boundaries_once(meter, control):
    await setup_billing(balance="1", rate=ONE_SECOND)
    await set_setting("billing", "debit_interval", 0)  # each unit when due (test_ahead.py)
    info = call_info("c1")
    decision = await meter.gate(info)
    await meter.answered(info, control, decision, False)
    await control.run_until("c1", 4)
    assert await balance() == Decimal("0.95")  # boundaries 0..4
    # restart: a new process resumes at talk time 9.5 with the same decision
    from coovox.plugins.billing.metering import Meter
    from tests.support.billing import FakeControl

    control2, meter2 = FakeControl(), Meter("UTC")
    control2.talk["c1"] = 9.5
    await meter2.answered(info, control2, decision, True)
    await meter2.answered(info, control2, decision, True)  # resumed twice: nothing doubled
    assert await balance() == Decimal("0.90")  # boundaries 5..9 charged
    await control2.run_until("c1", 12.5)
    await meter2.ended(info, {"status": "answered", "talk_time": 12.5})
    assert (await BillingCall.get(call_id="c1")).cost == Decimal("0.13")
    assert await balance() == Decimal("0.87")
    assert await check_invariants() == []


async def test_boundaries_passed_while_away_are_charged_only_while_affordable(meter, control):
    await setup_billing(balance="0.05", rate=ONE_SECOND)
    info = call_info("c1")
    await meter.answered(info, control, await meter.gate(info), False)
    await control.run_until("c1", 2)  # boundaries 0..2 paid live, then the process dies
    from coovox.plugins.billing.metering import Meter

    # the restarted process closes the call: it ended at 30 s while nobody metered it
    await Meter("UTC").ended(info, {"status": "answered", "talk_time": 30.0})
    row = await BillingCall.get(call_id="c1")
    assert (row.billed_time, row.talk_time) == (5.0, 30.0)  # billed as if cut at 5 s
    assert row.cost == Decimal("0.05") and await balance() == Decimal("0")
    assert await check_invariants() == []


async def test_unanswered_and_unbilled_calls_cost_nothing(meter, control):
    await setup_billing(balance="1")
    info = call_info("c1")
    await meter.gate(info)
    await meter.ended(info, {"status": "no answer", "talk_time": 0})
    assert (await BillingCall.get(call_id="c1")).cost == Decimal(0)
    assert await balance() == Decimal(1)


@pytest.mark.parametrize("interval", [0, 30])
async def test_fifty_simultaneous_calls_charge_exactly_the_money_there_is(meter, control,
                                                                          interval):
    """Money for exactly 12 units, 50 calls at once: 12 units charged, never below -credit
    (charged ahead: in fewer charges, the first calls holding the money)."""
    await setup_billing(balance="0.12", rate=ONE_SECOND)
    await set_setting("billing", "debit_interval", interval)
    infos = [call_info(f"c{i}") for i in range(50)]
    decisions = await asyncio.gather(*(meter.gate(i) for i in infos))
    allowed = [(i, d) for i, d in zip(infos, decisions, strict=True) if not d.refuse]
    assert len(allowed) == 50  # all gated while money remained
    await asyncio.gather(*(meter.answered(i, control, d, False) for i, d in allowed))
    await asyncio.gather(*(control.run_until(i.call_id, 30) for i, _ in allowed))
    for i, _ in allowed:
        cut = control.cut_of(i.call_id)
        record = {"status": "answered", "talk_time": 30}
        if cut:
            record.update(billed_talk_time=cut[2], talk_time=cut[2] + 0.01)
        await meter.ended(i, record)
    assert await balance() == Decimal(0)
    assert sum(r.cost for r in await BillingCall.all()) == Decimal("0.12")
    charges = await Ledger.filter(amount__gt=0).values_list("amount", flat=True)
    assert sum(charges) == Decimal("0.12")
    assert len(charges) == 12 if interval == 0 else len(charges) < 12
    assert await Ledger.filter(kind="settle").count() == 0  # live sum == cost(billed)
    assert await check_invariants() == []


async def test_call_log_fields_show_the_running_then_final_cost(meter, control):
    await setup_billing(balance="1")
    info = call_info("c1")
    await meter.answered(info, control, await meter.gate(info), False)
    await control.run_until("c1", 61)
    assert (await meter.fields(["c1", "other"])) == {"c1": {"cost": "0.1200", "rate": "#1"}}
    await meter.ended(info, {"status": "answered", "talk_time": 61})
    assert (await meter.fields(["c1"]))["c1"]["cost"] == "0.1200"
    await BillingCall.filter(call_id="c1").update(cost=Decimal("0.5"))
    assert any("the rate gives 0.1200" in p for p in await check_invariants())


@pytest.mark.parametrize("interval", [0, 30])
async def test_live_charges_equal_the_formula_for_random_rates(meter, control, interval):
    """Property over random rates and talk times: what metering charged live = cost(s)
    (charged ahead: at least cost(s) live, exactly cost(s) once settled)."""
    import random

    from coovox.hooktypes import GateDecision
    from coovox.plugins.billing.rating import RateRule, cost

    await setup_billing(balance="100000")
    await set_setting("billing", "debit_interval", interval)
    total = Decimal(0)
    rnd = random.Random(4)
    for i in range(30):
        rule = RateRule(id=i, initial_cost=Decimal(rnd.randint(0, 5000)) / 10000,
                        initial_time=rnd.choice([0, 0, 30, 60, 120]),
                        rate=Decimal(rnd.randint(0, 2000)) / 10000, unit=rnd.randint(1, 90))
        talk = rnd.randint(1, 400) + 0.5
        info = call_info(f"p{i}")
        decision = GateDecision("billing", data={"rate": rule.to_json()})
        await meter.answered(info, control, decision, False)
        await control.run_until(info.call_id, talk)
        live = (await BillingCall.get(call_id=info.call_id)).charged
        await meter.ended(info, {"status": "answered", "talk_time": talk})
        final = (await BillingCall.get(call_id=info.call_id)).cost
        assert final == cost(rule, talk) and (live == final if interval == 0 else live >= final)
        total += final
    if interval == 0:
        assert await Ledger.filter(kind="settle").count() == 0
    assert await balance() == Decimal("100000") - total
    assert await check_invariants() == []
