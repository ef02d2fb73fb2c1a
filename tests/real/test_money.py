"""Prepaid money on a real Asterisk, with 1-second billing units (0.01 per begun second,
no initial cost): what the caller may talk is exactly what the balance pays.

* funded for N units: the call is cut at the first boundary it cannot pay (by Asterisk's
  clock, the carrier leg lasts N s and not a unit more), costs exactly N units, the balance
  ends at 0; the low-balance warning (beep + the shipped prompt) plays to its end before;
* a recharge during the call moves the cut-off: the call goes on past the old cut point
  and costs its longer talk time;
* 24 calls at once from one SIP phone on one account funded for a few units: never a
  unit more than balance + credit, the balance ends at exactly -credit, ``coovox check``
  passes.
"""

from __future__ import annotations

import math
import wave
from collections import Counter
from decimal import Decimal

import pytest

from coovox.plugins.calls import prompts
from tests.real.kit import RealStack, sipp
from tests.real.money import CLOCK_SLACK, balance

pytestmark = [pytest.mark.real_asterisk, pytest.mark.asyncio(loop_scope="module")]

STACK = {"phones": ("100", "101", "102"), "dial_timeout": 4, "refuse_tone_seconds": 0.5}
UNIT = Decimal("0.01")
RATE = {"prefix": "9", "initial_cost": "0", "initial_time": 0, "rate": str(UNIT), "unit": 1,
        "extensions": "all", "remark": "1 s units"}
# Asterisk's event times vs CooVox's timers (same machine, a loaded one)


async def setup_stack(stack: RealStack) -> None:
    await stack.api.setup_outbound({"100": "Alice", "101": "Bob", "102": "Carol"})
    await stack.api.enable_billing(rates=[RATE], accounts={})


async def fund(stack: RealStack, ext: str, units: int, *, credit_units: int = 0) -> None:
    await stack.api.patch(f"/api/v1/billing/accounts/{ext}",
                          {"enabled": True, "credit": str(UNIT * credit_units)})
    await stack.api.post("/api/v1/billing/recharges",
                         {"extension": ext, "amount": str(UNIT * units)})


async def warning_seconds(stack: RealStack, seconds: int) -> None:
    await stack.api.patch("/api/v1/billing/settings", {"warning_seconds": seconds})


def cost_of(billed: float) -> Decimal:
    return UNIT * math.ceil(billed) if billed > 0 else Decimal(0)


async def test_cut_at_the_first_unit_the_balance_cannot_pay(real: RealStack):
    units, warn = 6, 5
    await warning_seconds(real, warn)
    await fund(real, "100", units)
    carrier = await real.carrier.start(sipp.answer())  # never hangs up itself
    result = await (await real.phone("100").call("9600001")).wait(30)
    assert result.ok and result.final_status == 200, result.explain()
    assert result.received("BYE"), "Asterisk hung up the phone"
    assert (await carrier.wait(10)).received("BYE"), "and the carrier"

    row = await real.api.finished_call(dialed="9600001")
    assert (row["status"], row["reason"], row["trunk"], row["sent"]) == (
        "answered", "insufficient funds", "carrier", "600001")
    assert row["billed_talk_time"] == units
    assert Decimal(row["cost"]) == units * UNIT
    assert await balance(real, "100") == 0
    # cut within the unit it could not pay, by Asterisk's clock (carrier leg up -> gone)
    leg = real.observer.leg("PJSIP/carrier-", real.since)
    assert units - CLOCK_SLACK / 5 <= leg.talk_seconds < units + 1, leg
    assert abs(row["talk_time"] - leg.talk_seconds) < CLOCK_SLACK, (row, leg)
    # the warning: the beep and the shipped prompt, to their end, before the cut
    phone_leg = real.observer.leg("PJSIP/100-", real.since)
    (warning,) = real.observer.playbacks(real.since, phone_leg.id)
    assert warning.media == [prompts.BEEP, "sound:" + str(
        (prompts.SHIPPED / "en" / prompts.LOW_BALANCE).resolve())], warning
    assert warning.state == "done", warning
    with wave.open(str(prompts.SHIPPED / "en" / f"{prompts.LOW_BALANCE}.wav")) as w:
        prompt_seconds = w.getnframes() / w.getframerate()
    lasted = (warning.finished - warning.started).total_seconds()
    assert lasted >= 0.5 + prompt_seconds - 0.3, warning  # the beep and the whole prompt
    assert warning.finished <= leg.destroyed and warning.finished <= phone_leg.destroyed
    warned_at = (warning.started - leg.up).total_seconds()  # due at the talk time cut - warn
    assert units - warn - 0.1 <= warned_at <= units - warn + 2 * CLOCK_SLACK, warning


async def test_a_recharge_during_the_call_moves_the_cut_off(real: RealStack):
    units, talk = 3, 5.0
    await warning_seconds(real, 0)
    await fund(real, "101", units)
    await real.carrier.start(sipp.answer())
    phone = await real.phone("101").call("9600002", hangup_after=talk)
    await real.observer.wait_for(
        lambda e: e["type"] == "ChannelStateChange" and e["channel"]["state"] == "Up"
        and e["channel"]["name"].startswith("PJSIP/carrier-"), since=real.since)
    await real.api.post("/api/v1/billing/recharges", {"extension": "101", "amount": "0.10"})
    result = await phone.wait(30)
    assert result.ok and result.final_status == 200, result.explain()
    assert not result.received("BYE"), "the phone hung up, not Asterisk"

    row = await real.api.finished_call(dialed="9600002")
    assert (row["status"], row["reason"]) == ("answered", "caller hung up")
    leg = real.observer.leg("PJSIP/carrier-", real.since)
    phone_leg = real.observer.leg("PJSIP/101-", real.since)
    talked = (phone_leg.destroyed - leg.up).total_seconds()
    assert talked > units + 1, "past the old cut point"
    assert abs(row["talk_time"] - talked) < CLOCK_SLACK, (row, leg, phone_leg)
    assert row["billed_talk_time"] == row["talk_time"]
    assert Decimal(row["cost"]) == cost_of(row["talk_time"]) > units * UNIT
    assert await balance(real, "101") == units * UNIT + Decimal("0.10") - Decimal(row["cost"])


async def test_many_calls_at_once_never_overspend(real: RealStack):
    calls, units, credit_units = 24, 20, 4
    await warning_seconds(real, 0)
    await fund(real, "102", units, credit_units=credit_units)
    await real.carrier.start(sipp.answer(), calls=None)  # answers all, hangs up none
    phone = await real.phone("102").call("9600003", calls=calls, rate=50, limit=calls,
                                         timeout=90)
    result = await phone.wait(100)
    assert result.ok, result.explain()

    rows = await real.api.finished_calls(calls, dialed="9600003", timeout=60, interval=0.5)
    assert len(rows) == calls
    assert {(r["status"], r["reason"]) for r in rows} <= {
        ("answered", "insufficient funds"), ("refused", "insufficient funds")}, rows
    costs = [Decimal(r.get("cost") or "0") for r in rows]
    for row, cost in zip(rows, costs, strict=True):
        billed = row["billed_talk_time"] or 0
        assert cost == cost_of(billed), row
        if row["status"] == "answered":  # cut at a boundary, within the unit it started
            assert billed == int(billed) and 0 <= row["talk_time"] - billed < 1 + CLOCK_SLACK
    funded, credit = units * UNIT, credit_units * UNIT
    # every call was cut by the money: all of balance + credit was spent, not a unit more
    assert sum(costs) == funded + credit, Counter(costs)
    assert await balance(real, "102") == -credit
    # by Asterisk's clock too: no carrier leg talked a unit longer than the longest paid
    answered = [r for r in rows if r["status"] == "answered"]
    legs = [leg for leg in real.observer.legs("PJSIP/carrier-", real.since) if leg.up]
    assert len(legs) == len(answered)
    longest = max(r["billed_talk_time"] for r in answered)
    assert all(leg.talk_seconds < longest + 1 for leg in legs), legs
    assert "billing invariants hold" in await real.app.command("check")
