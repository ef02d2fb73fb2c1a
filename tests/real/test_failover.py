"""Trunk failover on a real Asterisk: a dial rule with two SIP trunks, each a PJSIP endpoint
made like the shipped ``[carrier]`` (the second one, ``carrier2``, on a port of its own).

* the first carrier refuses (503 congestion, 404 unallocated): the call goes out on the
  second trunk and its record names the second trunk, with the second call's end;
* the first trunk cannot even be created (an endpoint Asterisk does not know): the same;
* busy is an answer from the callee: no failover, the second carrier never hears of it;
* both carriers refuse: the call fails with the last trunk's reason.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.real.kit import RealStack, sipp
from tests.real.money import CLOCK_SLACK, balance, expected_costs, settled_call

pytestmark = [pytest.mark.real_asterisk, pytest.mark.asyncio(loop_scope="module")]

STACK = {"carriers": ("carrier2",), "dial_timeout": 4, "refuse_tone_seconds": 0.5}
RATE = {"prefix": "", "initial_cost": "0.05", "initial_time": 0, "rate": "0.01", "unit": 1,
        "extensions": "all", "remark": "failover rate"}


async def setup_stack(stack: RealStack) -> None:
    api = stack.api
    await api.setup_outbound({"100": "Alice"}, trunk="first",
                             dial_string="PJSIP/{number}@carrier")
    await api.post("/api/v1/trunks", {"name": "second",
                                      "dial_string": "PJSIP/{number}@carrier2"})
    await api.post("/api/v1/trunks", {"name": "nowhere",
                                      "dial_string": "PJSIP/{number}@no-such-endpoint"})
    await api.patch("/api/v1/dial-rules/Out", {"trunks": ["first", "second"]})
    await api.post("/api/v1/dial-rules", {"name": "Broken first", "prefix": "7",
                                          "pattern": "X.", "trunks": ["nowhere", "second"]})
    await api.patch("/api/v1/dial-permissions/DialPlan1",
                    {"dial_rules": ["Out", "Broken first"]})
    await api.enable_billing(rates=[RATE], accounts={"100": "10"})


@pytest.mark.parametrize(("status", "number"), [(503, "9400001"), (404, "9400002")],
                         ids=["congestion", "unallocated"])
async def test_refused_by_the_first_carrier_goes_out_on_the_second(real: RealStack, status,
                                                                   number):
    before = await balance(real)
    # the first carrier rings 0.3 s before refusing: a second trunk dialled in parallel
    # would be seen 0.3 s before the refusal, not a moment after it
    first = await real.carrier.start(sipp.reject(status, ring=0.3))
    second = await real.carriers["carrier2"].start(sipp.answer(ring=0.3, hangup_after=1.5))
    result = await (await real.phone("100").call(number)).wait(30)
    assert result.ok and result.final_status == 200, result.explain()
    assert result.received("BYE"), "the second carrier hung up"
    first_result = await first.wait(10)
    assert first_result.final_status == status
    (invite,) = (await second.wait(10)).received("INVITE")
    assert invite.first_line.startswith(f"INVITE sip:{number[1:]}@")
    (refusal,) = first_result.sent(status)
    # SIPp stamps a message it sent when it logs it, a little after the write: allow 5 ms
    assert refusal.at <= invite.at + timedelta(milliseconds=5), (
        "the second trunk is dialled after the first refused")

    row = await real.api.finished_call(dialed=number)
    assert (row["status"], row["reason"], row["cause"]) == ("answered", "callee hung up", 16)
    assert (row["trunk"], row["sent"], row["rule"]) == ("second", number[1:], "Out")
    failed = real.observer.leg("PJSIP/carrier-", real.since)
    assert "Up" not in failed.states and failed.cause in (34, 1), failed
    leg = real.observer.leg("PJSIP/carrier2-", real.since)
    assert abs(row["talk_time"] - leg.talk_seconds) < CLOCK_SLACK, (row, leg)
    row = await settled_call(real, RATE, id=row["id"])
    assert Decimal(row["cost"]) in expected_costs(row, RATE) and Decimal(row["cost"]) > 0
    assert await balance(real) == before - Decimal(row["cost"])


async def test_after_a_failover_the_caller_hanging_up_is_the_caller(real: RealStack):
    """The failed first leg ended first; the record must still tell who ended the call
    that was answered (and its cause), not the failed attempt."""
    before = await balance(real)
    await real.carrier.start(sipp.congestion())
    second = await real.carriers["carrier2"].start(sipp.answer())  # waits for the BYE
    result = await (await real.phone("100").call("9400003", hangup_after=1.5)).wait(30)
    assert result.ok and result.final_status == 200, result.explain()
    assert (await second.wait(10)).received("BYE"), "Asterisk hung up the second carrier"

    row = await real.api.finished_call(dialed="9400003")
    assert (row["status"], row["reason"], row["cause"]) == ("answered", "caller hung up", 16)
    assert row["trunk"] == "second"
    phone_leg = real.observer.leg("PJSIP/100-", real.since)
    leg = real.observer.leg("PJSIP/carrier2-", real.since)
    talk = (phone_leg.destroyed - leg.up).total_seconds()
    assert abs(row["talk_time"] - talk) < CLOCK_SLACK, (row, phone_leg, leg)
    row = await settled_call(real, RATE, id=row["id"])
    assert Decimal(row["cost"]) in expected_costs(row, RATE) and Decimal(row["cost"]) > 0
    assert await balance(real) == before - Decimal(row["cost"])


async def test_a_trunk_asterisk_cannot_create_fails_over(real: RealStack):
    """``PJSIP/...@no-such-endpoint``: Asterisk refuses the channel (500 "Allocation
    failed"); the call goes out on the next trunk."""
    second = await real.carriers["carrier2"].start(sipp.answer(hangup_after=1))
    result = await (await real.phone("100").call("7400004")).wait(30)
    assert result.ok and result.final_status == 200, result.explain()
    assert len((await second.wait(10)).received("INVITE")) == 1

    row = await real.api.finished_call(dialed="7400004")
    assert (row["status"], row["reason"], row["cause"]) == ("answered", "callee hung up", 16)
    assert (row["trunk"], row["sent"], row["rule"]) == ("second", "400004", "Broken first")
    row = await settled_call(real, RATE, id=row["id"])
    assert Decimal(row["cost"]) in expected_costs(row, RATE) and Decimal(row["cost"]) > 0
    assert [leg.name.split("-")[0] for leg in real.observer.legs("PJSIP/", real.since)] == [
        "PJSIP/100", "PJSIP/carrier2"], "no channel for the endpoint Asterisk does not know"


async def test_busy_does_not_fail_over(real: RealStack):
    before = await balance(real)
    await real.carrier.start(sipp.busy())
    second = await real.carriers["carrier2"].start(sipp.answer(), calls=None)
    result = await (await real.phone("100").call("9400005")).wait(30)
    assert result.ok and result.final_status == 486, result.explain()

    row = await real.api.finished_call(dialed="9400005")
    assert (row["status"], row["cause"], row["trunk"]) == ("busy", 17, "first")
    assert row["answered_at"] is None and Decimal(row.get("cost") or "0") == 0
    assert await balance(real) == before
    assert not (await second.stop()).received("INVITE"), "the second carrier was not dialled"
    assert not real.observer.channel_events("PJSIP/carrier2-", real.since)


async def test_both_carriers_refuse(real: RealStack):
    before = await balance(real)
    first = await real.carrier.start(sipp.congestion())
    second = await real.carriers["carrier2"].start(sipp.reject(404))
    result = await (await real.phone("100").call("9400006")).wait(30)
    assert result.ok and result.final_status == 503, result.explain()  # congestion tone
    assert (await first.wait(10)).final_status == 503
    assert (await second.wait(10)).final_status == 404

    row = await real.api.finished_call(dialed="9400006")
    assert (row["status"], row["reason"], row["cause"]) == ("failed", "unallocated number", 1)
    assert row["trunk"] == "second"
    assert row["answered_at"] is None and Decimal(row.get("cost") or "0") == 0
    assert await balance(real) == before
