"""The fraud guard on the money (issue 18 points 6-8): bursts are stopped within the limits,
spend never exceeds a limit even with many calls at once, normal traffic is untouched."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from coovox.models import WebLog
from coovox.plugins.billing import fraud, services
from coovox.plugins.billing.models import Account, FraudTrip, Ledger
from tests.support.billing import NOON, call_info, place_call, setup_billing

PER_SECOND = {"prefix": "9", "initial_cost": "0", "initial_time": 0, "rate": "0.01",
              "unit": 1, "extensions": "all"}


def heard(meter) -> list[tuple]:
    events: list[tuple] = []
    meter.fraud.publish = lambda name, source, **data: events.append((name, source, data))
    meter.wall = lambda: NOON
    return events


async def spent(extension: str = "100") -> Decimal:
    rows = await Ledger.filter(extension=extension).values_list("amount", flat=True)
    return sum(rows, Decimal(0))


async def test_ten_calls_at_once_never_pass_the_spend_limit(meter, control):
    await setup_billing(balance="100", rate=PER_SECOND)
    await fraud.update_global({"guard": True, "spend_hour": "0.50", "action": "lock"})
    events = heard(meter)
    infos = [call_info(f"c{i}") for i in range(10)]
    decisions = await asyncio.gather(*(meter.gate(i) for i in infos))
    assert all(d.refuse is None for d in decisions)
    for info, decision in zip(infos, decisions, strict=True):
        await meter.answered(info, control, decision, False)
    for second in range(1, 61):  # the ten calls talk side by side, charged each second
        await asyncio.gather(*(control.run_until(i.call_id, second) for i in infos))
    for info in infos:
        cut = control.cut_of(info.call_id)
        assert cut is not None and cut[1] == "spend limit", info.call_id
        await meter.ended(info, {"status": "answered", "talk_time": cut[2] + 0.02,
                                 "billed_talk_time": cut[2]})
    assert await spent() == Decimal("0.50")  # exactly the limit, never more
    account = await Account.get(extension="100")
    assert account.balance == Decimal("99.50") and account.status == "locked"
    assert [(e[0], e[2]["reason"], e[2]["action"]) for e in events] == [
        ("fraud.tripped", "spend per hour", "lock")]
    assert await FraudTrip.filter(extension="100").count() == 1
    assert await WebLog.filter(action="fraud.tripped 100").count() == 1
    # locked: the next call is refused until an administrator unlocks
    assert (await meter.gate(call_info("c11"))).refuse == "locked"
    assert await fraud.unlock("100", "admin", NOON) == 1
    # unlocked, the hour's limit still stands: no call can start within it
    assert (await meter.gate(call_info("c12"))).refuse == "spend limit"


async def test_fifty_attempts_a_minute_to_a_premium_prefix_lock_after_k(meter):
    await setup_billing(balance="100", rate=PER_SECOND)
    await fraud.update_global({"guard": True, "blocked_prefixes": ["900"],
                               "trip_attempts": 5, "trip_minutes": 10})
    events = heard(meter)
    reasons = []
    for i in range(50):
        info = call_info(f"p{i}", dialed="90012345")
        reasons.append((await meter.gate(info)).refuse)
    assert reasons[:5] == ["blocked destination"] * 5
    assert reasons[5:] == ["locked"] * 45
    assert [e[2]["reason"] for e in events] == ["blocked attempts"]
    assert (await Account.get(extension="100")).status == "locked"
    assert await spent() == 0


async def test_refuse_only_blocks_for_the_window_and_alert_only_does_not(meter, control):
    await setup_billing(balance="100", rate=PER_SECOND)
    await fraud.update_global({"guard": True, "blocked_prefixes": ["900"],
                               "trip_attempts": 2, "trip_minutes": 10, "action": "refuse"})
    events = heard(meter)
    for i in range(2):
        assert (await meter.gate(call_info(f"r{i}", dialed="9001"))).refuse == \
            "blocked destination"
    account = await Account.get(extension="100")
    assert account.status == "unlocked" and account.guard_until > NOON.timestamp()
    assert (await meter.gate(call_info("r3"))).refuse == "fraud guard"  # any number
    await fraud.unlock("100", "admin", NOON)
    assert (await meter.gate(call_info("r4"))).refuse is None
    await fraud.update_global({"action": "alert"})
    for i in range(4):
        await meter.gate(call_info(f"a{i}", dialed="9001"))
    assert (await meter.gate(call_info("a5"))).refuse is None  # alert only
    assert [e[2]["action"] for e in events] == ["refuse", "alert"]  # once per window


async def test_calls_per_hour_and_simultaneous_calls(meter, control):
    await setup_billing(balance="100", rate=PER_SECOND)
    await fraud.update_global({"guard": True, "concurrent_calls": 2})
    heard(meter)
    infos = [call_info(f"s{i}") for i in range(10)]
    decisions = await asyncio.gather(*(meter.gate(i) for i in infos))
    refused = [d.refuse for d in decisions]
    assert refused.count(None) == 2
    assert refused.count("too many simultaneous calls") == 8
    first = next(i for i, d in zip(infos, decisions, strict=True) if d.refuse is None)
    await meter.ended(first, {"status": "no answer", "talk_time": 0})
    assert (await meter.gate(call_info("s11"))).refuse is None  # room again
    await fraud.update_global({"concurrent_calls": 0, "calls_per_hour": 4})
    # 3 admitted this hour already: one more, then refused
    assert (await meter.gate(call_info("h1"))).refuse is None
    assert (await meter.gate(call_info("h2"))).refuse == "too many calls this hour"
    later = NOON.replace(hour=13)
    assert (await meter.gate(call_info("h3", started_at=later))).refuse is None


async def test_international_outside_office_hours(meter):
    await setup_billing(balance="100", rate=PER_SECOND)
    await fraud.update_global({"guard": True, "international_prefixes": ["900"],
                               "office_hours": {"days": [0, 1, 2, 3, 4], "start": "08:00",
                                                "end": "18:00"}})
    heard(meter)
    friday_noon = NOON  # 2026-11-20 is a Friday
    night = NOON.replace(hour=22)
    assert (await meter.gate(call_info("i1", dialed="9004412", started_at=friday_noon))
            ).refuse is None
    assert (await meter.gate(call_info("i2", dialed="9004412", started_at=night))
            ).refuse == "international outside office hours"
    assert (await meter.gate(call_info("i3", dialed="912345", started_at=night))
            ).refuse is None


async def test_normal_traffic_is_untouched(meter, control):
    """The same calls cost the same with the guard on (limits not reached) as off."""
    await setup_billing(balance="10", rate=PER_SECOND)
    heard(meter)
    off = [await place_call(meter, control, f"n{i}", 30) for i in range(3)]
    balance_off = (await Account.get(extension="100")).balance
    await fraud.update_global({"guard": True, "spend_hour": "5", "spend_day": "20",
                               "calls_per_hour": 60, "concurrent_calls": 5,
                               "blocked_prefixes": ["900"], "trip_attempts": 3})
    on = [await place_call(meter, control, f"g{i}", 30) for i in range(3)]
    assert [r.get("reason") for r in off + on] == [None] * 6
    assert (await Account.get(extension="100")).balance == balance_off - Decimal("0.90")
    assert balance_off == Decimal("9.10")
    assert await FraudTrip.all().count() == 0


async def test_the_day_limit_and_an_extensions_own_limit(meter, control):
    await setup_billing(balance="100", rate=PER_SECOND)
    await fraud.update_global({"guard": True, "spend_day": "0.30", "action": "alert"})
    await fraud.set_extension("100", {"spend_day": "0.10"})
    heard(meter)
    record = await place_call(meter, control, "d1", 60)
    assert record["reason"] == "spend limit" and record["billed_talk_time"] == 10
    assert await spent() == Decimal("0.10")
    await fraud.remove_extension("100")
    record = await place_call(meter, control, "d2", 60)
    assert record["billed_talk_time"] == 20 and await spent() == Decimal("0.30")
    assert (await services.get_account("100"))["status"] == "unlocked"  # alert only
