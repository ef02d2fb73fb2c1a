"""Charging ahead (billing.md "Charging ahead"): several units in one charge, the same money,
the same cut-off instant; refunds of unreached units at the settlement."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest

from coovox.hooktypes import GateDecision
from coovox.models import set_setting
from coovox.plugins.billing import fraud
from coovox.plugins.billing.check import check_invariants
from coovox.plugins.billing.models import Account, BillingCall, Ledger
from coovox.plugins.billing.rating import RateRule, cost
from coovox.storage.work import Store
from tests.support.billing import NOON, FakeControl, call_info, place_call, setup_billing

CENT = {"prefix": "", "initial_cost": "0", "initial_time": 0, "rate": "0.01", "unit": 1,
        "extensions": "all"}
RULE = RateRule(id=1, rate=Decimal("0.01"), unit=1)


async def balance(ext: str = "100") -> Decimal:
    return (await Account.get(extension=ext)).balance


async def charges(call_id: str) -> list[Decimal]:
    return list(await Ledger.filter(call_id=call_id, kind="charge").order_by("seq")
                .values_list("amount", flat=True))


async def settle_rows(call_id: str) -> list[Decimal]:
    return list(await Ledger.filter(call_id=call_id, kind="settle")
                .values_list("amount", flat=True))


async def ahead(seconds: int) -> None:
    await set_setting("billing", "debit_interval", seconds)


async def test_a_call_ending_mid_block_is_refunded_to_its_formula(meter, control):
    await setup_billing(balance="1", rate=CENT)
    info = call_info("c1")
    await meter.answered(info, control, await meter.gate(info), False)
    assert await balance() == Decimal("0.70")  # 30 s of units taken at answer
    await control.run_until("c1", 29.9)
    assert await balance() == Decimal("0.70")
    await control.run_until("c1", 45.5)
    assert await balance() == Decimal("0.40")  # the next 30 s at 30 s
    await meter.ended(info, {"status": "answered", "talk_time": 45.5})
    row = await BillingCall.get(call_id="c1")
    assert row.cost == cost(RULE, 45.5) == Decimal("0.46")  # boundaries 0 … 45
    assert await balance() == Decimal("0.54")
    assert await charges("c1") == [Decimal("0.30"), Decimal("0.30")]
    assert await settle_rows("c1") == [Decimal("-0.14")]  # the units of 46 … 59 back
    assert await check_invariants() == []


@pytest.mark.parametrize(("talk", "cost_", "refund"), [
    (59.5, "0.60", None),  # ended before boundary 60: the two blocks are its cost
    (60.0, "0.60", "-0.30"),  # the block due at 60 s was taken as the call ended
    (30.0, "0.30", "-0.30"),  # the same at 30 s
])
async def test_a_call_ending_at_a_block_boundary(meter, control, talk, cost_, refund):
    await setup_billing(balance="1", rate=CENT)
    await place_call(meter, control, "c1", talk)
    assert (await BillingCall.get(call_id="c1")).cost == Decimal(cost_)
    assert await balance() == Decimal("1") - Decimal(cost_)
    assert await settle_rows("c1") == ([] if refund is None else [Decimal(refund)])
    assert await check_invariants() == []


async def test_funds_running_out_mid_block_take_the_largest_affordable_block(meter, control):
    await setup_billing(balance="0.45", rate=CENT)
    info = call_info("c1")
    await meter.answered(info, control, await meter.gate(info), False)
    await control.run_until("c1", 44.9)
    assert control.cuts == [] and await balance() == Decimal("0")  # 30 + 15 units
    await control.run_until("c1", 60)
    assert control.cut_of("c1") == ("c1", "insufficient funds", 45.0)  # first unpaid one
    await meter.ended(info, {"status": "answered", "talk_time": 45.02,
                             "billed_talk_time": 45.0})
    assert (await BillingCall.get(call_id="c1")).cost == Decimal("0.45")
    assert await charges("c1") == [Decimal("0.30"), Decimal("0.15")]
    assert await check_invariants() == []


async def test_the_cut_off_instant_is_the_same_for_every_debit_interval(meter, control):
    """Property: random rates and balances; the cut instant, billed time and cost do not
    depend on the debit interval (never earlier, never later)."""
    rnd = random.Random(17)
    await setup_billing(rate=CENT)
    for i in range(12):
        rule = RateRule(id=1, initial_cost=Decimal(rnd.randint(0, 300)) / 10000,
                        initial_time=rnd.choice([0, 0, 5, 30]),
                        rate=Decimal(rnd.randint(1, 400)) / 10000, unit=rnd.choice([1, 3, 6]))
        funds = str(Decimal(rnd.randint(100, 9000)) / 10000)
        seen = set()
        for interval in (0, 5, 30, 120):
            ext, call_id = f"{i}{interval:03d}", f"c{i}-{interval}"
            await setup_billing(balance=funds, rate=CENT, extension=ext)
            await ahead(interval)
            info = call_info(call_id, ext)
            decision = GateDecision("billing", data={"rate": rule.to_json(), "extension": ext})
            await meter.answered(info, control, decision, False)
            await control.run_until(call_id, 300)
            cut = control.cut_of(call_id)
            billed = cut[2] if cut else 300
            await meter.ended(info, {"status": "answered", "talk_time": billed + 0.02,
                                     "billed_talk_time": billed})
            row = await BillingCall.get(call_id=call_id)
            assert row.cost == cost(rule, billed)
            seen.add((cut and cut[1:], row.cost, Decimal(funds) - await balance(ext)))
        assert len(seen) == 1, (rule, funds, seen)
    assert await check_invariants() == []


async def test_two_calls_on_one_balance_never_overspend(meter, control):
    """The money taken ahead by the first call is not there for the second, which is cut
    earlier than without charging ahead (billing.md allows it); never below zero."""
    await setup_billing(balance="0.45", rate=CENT)
    one, two = call_info("c1"), call_info("c2")
    await meter.answered(one, control, await meter.gate(one), False)
    await meter.answered(two, control, await meter.gate(two), False)
    assert await balance() == Decimal("0")  # 0.30 held by c1, 0.15 by c2
    await asyncio.gather(control.run_until("c1", 60), control.run_until("c2", 60))
    assert control.cut_of("c2") == ("c2", "insufficient funds", 15.0)
    assert control.cut_of("c1") == ("c1", "insufficient funds", 30.0)
    for info in (one, two):
        cut = control.cut_of(info.call_id)[2]
        await meter.ended(info, {"status": "answered", "talk_time": cut + 0.02,
                                 "billed_talk_time": cut})
    assert sum(r.cost for r in await BillingCall.all()) == Decimal("0.45")
    assert await balance() == Decimal("0")
    assert await check_invariants() == []


async def test_a_second_call_finds_the_money_held_ahead_and_is_cut_at_answer(meter, control):
    await setup_billing(balance="0.30", rate=CENT)
    one, two = call_info("c1"), call_info("c2")
    first, second = await meter.gate(one), await meter.gate(two)  # both gated, then answered
    await meter.answered(one, control, first, False)
    await meter.answered(two, control, second, False)
    assert control.cut_of("c2") == ("c2", "insufficient funds", 0.0)
    await meter.ended(two, {"status": "answered", "talk_time": 0.02, "billed_talk_time": 0})
    await control.run_until("c1", 10.5)
    await meter.ended(one, {"status": "answered", "talk_time": 10.5})
    assert (await BillingCall.get(call_id="c2")).cost == Decimal(0)
    assert await balance() == Decimal("0.19")  # c1's unreached units given back
    assert await check_invariants() == []


@pytest.mark.parametrize(("interval", "rows", "trips"), [(0, 61, 62), (30, 2, 3)])
async def test_a_60_s_call_writes_fewer_ledger_rows_and_units_of_work(meter, control,
                                                                      interval, rows, trips):
    await setup_billing(balance="10", rate=CENT)
    await ahead(interval)
    info = call_info("c1")
    decision = await meter.gate(info)
    seen: list[str] = []
    Store.on_trip = seen.append  # every unit of work run (each one trip on SQLite)
    try:
        await meter.answered(info, control, decision, False)
        await control.run_until("c1", 59.9)
        await meter.ended(info, {"status": "answered", "talk_time": 59.9})
    finally:
        Store.on_trip = None
    assert await Ledger.filter(call_id="c1").count() == rows
    assert len(seen) == trips, seen
    assert (await BillingCall.get(call_id="c1")).cost == Decimal("0.60")
    assert await check_invariants() == []


async def test_refunds_go_back_to_the_spend_window_too(meter, control):
    """Spend limit 0.50 an hour: a 10.5-s call charged 0.30 ahead spends 0.11; the next
    call may spend the other 0.39 and is cut at 39 s by the limit (not at 20 s)."""
    meter.wall = lambda: NOON
    await setup_billing(balance="5", rate=CENT)
    await fraud.update_global({"guard": True, "spend_hour": "0.50", "action": "lock"})
    await place_call(meter, control, "c1", 10.5)
    acc = await Account.get(extension="100")
    assert acc.spend_hour == 1100  # units of 1/10000
    await place_call(meter, control, "c2", 120)
    assert control.cut_of("c2") == ("c2", "spend limit", 39.0)
    assert (await BillingCall.get(call_id="c2")).cost == Decimal("0.39")
    assert (await Account.get(extension="100")).spend_hour == 5000
    assert await check_invariants() == []


async def test_a_resumed_call_charged_ahead_settles_exactly(meter, control):
    """A restart while units are held ahead: the resumed call takes nothing twice and the
    settlement gives back what was not reached."""
    from coovox.plugins.billing.metering import Meter

    await setup_billing(balance="1", rate=CENT)
    info = call_info("c1")
    decision = await meter.gate(info)
    await meter.answered(info, control, decision, False)
    await control.run_until("c1", 4)
    control2, meter2 = FakeControl(), Meter("UTC")  # the restarted process
    control2.talk["c1"] = 9.5
    await meter2.answered(info, control2, decision, True)
    await meter2.answered(info, control2, decision, True)  # resumed twice: nothing doubled
    assert await balance() == Decimal("0.70")
    await control2.run_until("c1", 33.5)
    assert await balance() == Decimal("0.40")
    await meter2.ended(info, {"status": "answered", "talk_time": 33.5})
    assert (await BillingCall.get(call_id="c1")).cost == Decimal("0.34")
    assert await balance() == Decimal("0.66")
    assert await check_invariants() == []


async def test_the_debit_interval_is_a_validated_setting(coovox):
    from coovox.plugins.billing import services
    from coovox.plugins.billing.validation import BillingError

    assert (await services.get_settings())["debit_interval"] == 30
    assert (await services.update_settings({"debit_interval": "0"}))["debit_interval"] == 0
    with pytest.raises(BillingError) as err:
        await services.update_settings({"debit_interval": "soon"})
    assert err.value.field == "debit_interval"


async def test_the_settings_page_sets_the_debit_interval_in_english_and_chinese(client,
                                                                                coovox):
    from coovox.plugins.billing import services
    from coovox.users import create_user
    from tests.support.web import sign_in

    await create_user("bill-ahead", "Bill-pass-123", role="billing")
    csrf = await sign_in(client, "bill-ahead", "Bill-pass-123")
    html = await (await client.get("/billing/settings")).text()
    assert "Charge ahead" in html and 'name="debit_interval" value="30"' in html
    form = {"csrf_token": csrf, "currency": "USD", "warning_seconds": "0"}
    resp = await client.post("/billing/settings", data={**form, "debit_interval": "-1"})
    assert resp.status == 200 and "Charge ahead (s of units per charge, 0 = each unit when " \
        "due) must be between 0 and 3600" in await resp.text()  # a clear message, no 500
    assert (await services.get_settings())["debit_interval"] == 30  # refused, unchanged
    await client.post("/billing/settings", data={**form, "debit_interval": "6"})
    assert (await services.get_settings())["debit_interval"] == 6
    zh = await (await client.get("/billing/settings",
                                 headers={"Accept-Language": "zh-CN"})).text()
    assert "预扣费" in zh and 'name="debit_interval" value="6"' in zh


async def test_a_call_cut_for_money_costs_four_units_of_work(meter, control):
    """Money for 5 units: opened with all 5 (one unit of work), the block due at 5 s is
    refused and so is its part (two), the settlement (one): not a retry per refusal."""
    await setup_billing(balance="0.05", rate=CENT)
    info = call_info("c1")
    decision = await meter.gate(info)
    seen: list[str] = []
    Store.on_trip = seen.append
    try:
        await meter.answered(info, control, decision, False)
        await control.run_until("c1", 60)
        await meter.ended(info, {"status": "answered", "talk_time": 5.02,
                                 "billed_talk_time": 5.0})
    finally:
        Store.on_trip = None
    assert control.cut_of("c1") == ("c1", "insufficient funds", 5.0)
    assert seen == ["_open_charging", "_charge", "_charge_part", "_end"]
    assert await charges("c1") == [Decimal("0.05")]
