"""Outbound calls through a real Asterisk 22: SIP phones (SIPp, digest auth) dial through
the shipped dialplan into ``coovox run``, which dials the SIP carrier (SIPp) and bills.

Each test asserts what a user sees: the call-log record (status, reason, cause, trunk,
number sent, talk time, cost), the SIP answer the phone got, the balance; times are
compared with Asterisk's own event times (the ARI observer), never with the test's clock.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal

import pytest

from tests.real.kit import RealStack, sipp
from tests.real.money import CLOCK_SLACK, balance, expected_costs, settled_call, settled_calls

pytestmark = [pytest.mark.real_asterisk, pytest.mark.asyncio(loop_scope="module")]

DIAL_TIMEOUT = 4
STACK = {"dial_timeout": DIAL_TIMEOUT, "refuse_tone_seconds": 0.5}
RATE = {"prefix": "9", "initial_cost": "0.05", "initial_time": 0, "rate": "0.01", "unit": 1,
        "extensions": "all", "remark": "test rate"}
# Asterisk's event times vs CooVox's own clock (same machine; events are handled at once)


async def setup_stack(stack: RealStack) -> None:
    await stack.api.setup_outbound({"100": "Alice", "101": "Bob"})
    await stack.api.enable_billing(rates=[RATE], accounts={"100": "10"})


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def assert_not_charged(row: dict) -> None:
    assert row["answered_at"] is None and row["talk_time"] is None
    assert Decimal(row.get("cost") or "0") == 0


async def test_answered_callee_hangs_up(real: RealStack):
    before = await balance(real)
    carrier = await real.carrier.start(sipp.answer(ring=0.5, hangup_after=2))
    phone = await real.phone("100").call("9200001")  # waits for the far end's BYE
    result = await phone.wait(30)
    assert result.ok and result.final_status == 200, result.explain()
    assert result.received("BYE"), "the phone was hung up by Asterisk"
    assert (await carrier.wait(10)).ok

    row = await real.api.finished_call(dialed="9200001")
    assert (row["status"], row["reason"], row["cause"]) == ("answered", "callee hung up", 16)
    assert (row["extension"], row["extension_name"], row["rule"]) == ("100", "Alice", "Out")
    assert (row["trunk"], row["sent"]) == ("carrier", "200001")
    # the carrier got the number sent, and the talk time is what Asterisk saw on its leg
    (invite,) = (await carrier.wait(1)).received("INVITE")
    assert invite.first_line.startswith("INVITE sip:200001@")
    leg = real.observer.leg("PJSIP/carrier-", real.since)
    assert leg.cause == 16 and leg.talk_seconds is not None
    assert abs(row["talk_time"] - leg.talk_seconds) < CLOCK_SLACK, (row, leg)
    assert abs((at(row["answered_at"]) - leg.up).total_seconds()) < CLOCK_SLACK
    assert row["duration"] >= row["talk_time"]
    # billed: initial cost + one unit per begun second of talk
    row = await settled_call(real, RATE, id=row["id"])
    assert Decimal(row["cost"]) in expected_costs(row, RATE) and Decimal(row["cost"]) > 0
    assert await balance(real) == before - Decimal(row["cost"])


async def test_answered_caller_hangs_up(real: RealStack):
    before = await balance(real)
    carrier = await real.carrier.start(sipp.answer())  # waits for Asterisk's BYE
    phone = await real.phone("100").call("9200002", hangup_after=2)
    result = await phone.wait(30)
    assert result.ok and result.final_status == 200, result.explain()
    carrier_result = await carrier.wait(10)
    assert carrier_result.ok and carrier_result.received("BYE"), carrier_result.explain()

    row = await real.api.finished_call(dialed="9200002")
    assert (row["status"], row["reason"], row["cause"]) == ("answered", "caller hung up", 16)
    assert (row["trunk"], row["sent"]) == ("carrier", "200002")
    phone_leg = real.observer.leg("PJSIP/100-", real.since)
    carrier_leg = real.observer.leg("PJSIP/carrier-", real.since)
    assert phone_leg.cause == 16 and carrier_leg.destroyed is not None
    # talk: from the carrier's answer until the phone's leg ended, by Asterisk's clock
    talk = (phone_leg.destroyed - carrier_leg.up).total_seconds()
    assert abs(row["talk_time"] - talk) < CLOCK_SLACK, (row, phone_leg, carrier_leg)
    row = await settled_call(real, RATE, id=row["id"])
    assert Decimal(row["cost"]) in expected_costs(row, RATE) and Decimal(row["cost"]) > 0
    assert await balance(real) == before - Decimal(row["cost"])


async def test_busy(real: RealStack):
    before = await balance(real)
    carrier = await real.carrier.start(sipp.busy())
    phone = await real.phone("100").call("9200003")
    result = await phone.wait(30)
    assert result.ok and result.final_status == 486, result.explain()  # the phone shows busy
    assert (await carrier.wait(10)).ok

    row = await real.api.finished_call(dialed="9200003")
    assert (row["status"], row["cause"], row["trunk"]) == ("busy", 17, "carrier")
    assert_not_charged(row)
    assert await balance(real) == before
    # a PJSIP trunk leg is hung up by Asterisk at once (cause 17), not parked after Dial BUSY
    assert real.observer.leg("PJSIP/carrier-", real.since).cause == 17


@pytest.mark.parametrize(("status", "number", "reason", "cause"), [
    (503, "9200004", "congestion", 34),
    (404, "9200014", "unallocated number", 1),
], ids=["congestion", "unallocated"])
async def test_carrier_refuses(real: RealStack, status, number, reason, cause):
    carrier = await real.carrier.start(sipp.reject(status, ring=0.3))
    phone = await real.phone("100").call(number)
    result = await phone.wait(30)
    assert result.ok and result.final_status == 503, result.explain()  # congestion tone
    assert (await carrier.wait(10)).ok

    row = await real.api.finished_call(dialed=number)
    assert (row["status"], row["reason"], row["cause"]) == ("failed", reason, cause)
    assert row["trunk"] == "carrier"
    assert_not_charged(row)
    assert real.observer.leg("PJSIP/carrier-", real.since).cause == cause


async def test_no_answer_after_the_dial_timeout(real: RealStack):
    carrier = await real.carrier.start(sipp.ring_forever())
    phone = await real.phone("100").call("9200005")
    result = await phone.wait(DIAL_TIMEOUT + 30)
    assert result.ok and result.final_status == 480, result.explain()  # "no answer"
    assert result.received(180), "the phone heard ringing"
    carrier_result = await carrier.wait(10)
    assert carrier_result.ok and carrier_result.received("CANCEL"), carrier_result.explain()

    row = await real.api.finished_call(dialed="9200005")
    assert (row["status"], row["cause"], row["trunk"]) == ("no answer", 19, "carrier")
    assert_not_charged(row)
    # Asterisk itself ended the ringing carrier leg after the dial timeout
    leg = real.observer.leg("PJSIP/carrier-", real.since)
    assert leg.cause == 19 and "Up" not in leg.states
    rang = (leg.destroyed - leg.created).total_seconds()
    assert DIAL_TIMEOUT - CLOCK_SLACK <= rang, leg


async def test_caller_abandons_while_ringing(real: RealStack):
    carrier = await real.carrier.start(sipp.ring_forever())
    phone = await real.phone("100").call("9200008", cancel_after=1.5)
    result = await phone.wait(30)
    assert result.ok and result.final_status == 487, result.explain()
    assert (await carrier.wait(10)).received("CANCEL")

    row = await real.api.finished_call(dialed="9200008")
    assert (row["status"], row["reason"]) == ("no answer", "caller hung up")
    assert_not_charged(row)
    # the cause is the phone leg's, as Asterisk gives it for a CANCEL (PJSIP: 127)
    assert row["cause"] == real.observer.leg("PJSIP/100-", real.since).cause
    assert real.observer.leg("PJSIP/carrier-", real.since).destroyed is not None


async def test_unknown_extension_refused(real: RealStack):
    # 199 is a PJSIP endpoint that authenticates, but not a CooVox extension
    phone = await real.phone("199").call("9200006")
    result = await phone.wait(30)
    assert result.ok and result.final_status == 503, result.explain()
    assert result.received(183), "the phone got early media: the congestion tone"

    row = await real.api.finished_call(dialed="9200006")
    assert (row["status"], row["reason"], row["extension"]) == (
        "refused", "unknown extension", "199")
    assert not row["trunk"]
    assert not real.observer.channel_events("PJSIP/carrier-", real.since), "nothing dialled"


async def test_no_route_refused(real: RealStack):
    phone = await real.phone("100").call("5200007")  # no dial rule for prefix 5
    result = await phone.wait(30)
    assert result.ok and result.final_status == 503, result.explain()
    assert result.received(183), "the phone got early media: the congestion tone"

    row = await real.api.finished_call(dialed="5200007")
    assert (row["status"], row["reason"], row["extension"]) == ("refused", "no route", "100")
    assert not real.observer.channel_events("PJSIP/carrier-", real.since), "nothing dialled"


async def test_info_dtmf_reaches_asterisk(real: RealStack):
    """SIP INFO (application/dtmf-relay) from a phone with the shipped endpoint settings
    (default dtmf_mode) arrives as DTMF on its channel: what a PIN prompt reads."""
    await real.carrier.start(sipp.answer())
    phone = await real.phone("100").call("9200009", dtmf="12#", hangup_after=0.5)
    result = await phone.wait(30)
    assert result.ok, result.explain()
    assert [m.status for m in result.received(200) if m.cseq[1] == "INFO"] == [200] * 3
    leg = real.observer.leg("PJSIP/100-", real.since)
    assert leg.digits == "12#", leg
    row = await real.api.finished_call(dialed="9200009")
    assert (row["status"], row["reason"]) == ("answered", "caller hung up")


async def test_ten_calls_at_once_are_each_recorded_and_billed(real: RealStack):
    """One SIPp process places ten calls at once (what a load benchmark does at scale)."""
    before = await balance(real)
    await real.carrier.start(sipp.answer(ring=0.2, hangup_after=2), calls=None)
    phone = await real.phone("100").call("9200010", calls=10, rate=20, limit=10)
    result = await phone.wait(60)
    assert result.ok, result.explain()
    assert Counter(result.final_statuses()) == {401: 10, 200: 10}, result.explain()

    rows = await real.api.finished_calls(10, dialed="9200010")
    assert len(rows) == 10 and len({r["id"] for r in rows}) == 10
    assert {(r["status"], r["reason"], r["cause"]) for r in rows} == {
        ("answered", "callee hung up", 16)}
    legs = await real.observer.destroyed_legs("PJSIP/carrier-", 10, real.since)
    assert len(legs) == 10 and all(leg.cause == 16 for leg in legs), legs
    talks = sorted(r["talk_time"] for r in rows)
    for talk, leg_talk in zip(talks, sorted(leg.talk_seconds for leg in legs), strict=True):
        assert abs(talk - leg_talk) < CLOCK_SLACK, (talks, legs)
    rows = await settled_calls(real, RATE, 10, dialed="9200010")
    costs = [Decimal(r["cost"]) for r in rows]
    assert all(c in expected_costs(r, RATE) for c, r in zip(costs, rows, strict=True))
    assert await balance(real) == before - sum(costs)
