"""Who pays, and what each SIP end sees, on a real Asterisk with the shipped pjsip.conf.

* who pays is the PJSIP endpoint Asterisk matched (``${CHANNEL(endpoint)}``), never the
  caller ID the phone sends: a phone recognised by its address (endpoint 102, made from
  the shipped ``(phone)`` template without ``callerid``) that sends ``From: "100"
  <sip:100@...>`` and ``P-Asserted-Identity: <sip:100@...>`` is billed as 102; a phone that
  authenticated as 101 and sends a P-Asserted-Identity of 100 is billed as 101; extension
  100's balance never moves;
* the carrier's P-Asserted-Identity (``send_pai = yes``) names the paying extension, never
  the identity a phone claims;
* ``direct_media = no`` (phones and trunk) and ``send_connected_line = no`` (trunk): after
  bridging Asterisk sends no re-INVITE (nor UPDATE) to either end; the media stays on
  Asterisk.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.real.kit import RealStack, sipp
from tests.real.money import CLOCK_SLACK, expected_costs, settled_call

pytestmark = [pytest.mark.real_asterisk, pytest.mark.asyncio(loop_scope="module")]

STACK = {"ip_phones": ("102",), "dial_timeout": 4, "refuse_tone_seconds": 0.5}
RATE = {"prefix": "9", "initial_cost": "0.05", "initial_time": 0, "rate": "0.01", "unit": 1,
        "extensions": "all", "remark": "identity rate"}
PAI_100 = "P-Asserted-Identity: \"Alice\" <sip:100@127.0.0.1>"


async def setup_stack(stack: RealStack) -> None:
    await stack.api.setup_outbound({"100": "Alice", "101": "Bob", "102": "Carol"})
    await stack.api.enable_billing(rates=[RATE], accounts={"100": "10", "101": "10",
                                                          "102": "10"})


async def balances(stack: RealStack) -> dict[str, Decimal]:
    return {ext: Decimal((await stack.api.account(ext))["balance"])
            for ext in ("100", "101", "102")}


async def billed_call(real: RealStack, number: str, phone_leg_prefix: str,
                      run: sipp.SippRun, carrier_run: sipp.SippRun
                      ) -> tuple[dict, sipp.SippResult]:
    """The answered call's record, checked against Asterisk's legs; the carrier's trace."""
    result = await run.wait(30)
    assert result.ok and result.final_status == 200, result.explain()
    carrier = await carrier_run.wait(10)
    row = await real.api.finished_call(dialed=number)
    assert (row["status"], row["reason"], row["trunk"], row["sent"]) == (
        "answered", "callee hung up", "carrier", number[1:])
    leg = real.observer.leg("PJSIP/carrier-", real.since)
    assert abs(row["talk_time"] - leg.talk_seconds) < CLOCK_SLACK, (row, leg)
    assert real.observer.leg(phone_leg_prefix, real.since).destroyed is not None
    row = await settled_call(real, RATE, id=row["id"])
    assert Decimal(row["cost"]) in expected_costs(row, RATE) and Decimal(row["cost"]) > 0
    return row, carrier


async def test_an_address_identified_phone_claiming_100_pays_as_itself(real: RealStack):
    before = await balances(real)
    carrier_run = await real.carrier.start(sipp.answer(hangup_after=1))
    run = await real.phone("102").call("9700001", challenge=False, from_user="100",
                                       from_display="100", headers=(PAI_100,))
    row, carrier = await billed_call(real, "9700001", "PJSIP/102-", run, carrier_run)
    assert (row["extension"], row["extension_name"]) == ("102", "Carol")
    # Asterisk believed the caller ID the phone sent (From 100), yet the channel is 102's
    created = real.observer.channel_events("PJSIP/102-", real.since)[0]["channel"]
    assert created["caller"]["number"] == "100", created["caller"]
    assert not real.observer.channel_events("PJSIP/100-", real.since)
    after = await balances(real)
    assert after == {**before, "102": before["102"] - Decimal(row["cost"])}
    (invite,) = carrier.received("INVITE")
    assert "Alice" not in invite.text, "the claimed identity is not passed to the carrier"
    # the carrier is sent the payer's number (send_pai), not the number the phone claimed
    assert re.search(r"^P-Asserted-Identity:.*<sip:102@", invite.text, re.M), invite.text


async def test_an_authenticated_phone_sending_pai_of_100_pays_as_itself(real: RealStack):
    before = await balances(real)
    carrier_run = await real.carrier.start(sipp.answer(hangup_after=1))
    run = await real.phone("101").call("9700002", from_display="100", headers=(PAI_100,))
    row, carrier = await billed_call(real, "9700002", "PJSIP/101-", run, carrier_run)
    assert (row["extension"], row["extension_name"]) == ("101", "Bob")
    # trust_id_inbound = no: the PAI is not believed, the endpoint's own callerid stays
    created = real.observer.channel_events("PJSIP/101-", real.since)[0]["channel"]
    assert created["caller"]["number"] == "101", created["caller"]
    after = await balances(real)
    assert after == {**before, "101": before["101"] - Decimal(row["cost"])}
    (invite,) = carrier.received("INVITE")
    assert "Alice" not in invite.text  # the carrier's P-Asserted-Identity is Bob's own 101
    assert re.search(r'^P-Asserted-Identity: "Bob" <sip:101@', invite.text, re.M), invite.text


async def test_no_reinvite_after_bridging(real: RealStack):
    """direct_media = no: each end gets exactly one INVITE (the phone none: it sent its
    own) and no UPDATE during a 3 s answered call."""
    carrier = await real.carrier.start(sipp.answer())  # waits for Asterisk's BYE
    phone = await real.phone("100").call("9700003", hangup_after=3)
    result = await phone.wait(30)
    assert result.ok and result.final_status == 200, result.explain()
    carrier_result = await carrier.wait(10)
    assert carrier_result.ok, carrier_result.explain()
    row = await real.api.finished_call(dialed="9700003")
    assert (row["status"], row["reason"]) == ("answered", "caller hung up")
    assert row["talk_time"] >= 3 - CLOCK_SLACK
    assert real.observer.find(lambda e: e["type"] == "ChannelEnteredBridge", real.since)

    assert not result.received("INVITE") and not result.received("UPDATE"), result.explain()
    assert len(carrier_result.received("INVITE")) == 1, carrier_result.explain()
    assert not carrier_result.received("UPDATE"), carrier_result.explain()
    # what the phone got and sent is one dialog: INVITE (401, INVITE), ACK, BYE
    methods = [m.method for m in result.messages if m.sent and m.method]
    assert methods == ["INVITE", "ACK", "INVITE", "ACK", "BYE"], methods
    # the media each end was given is an RTP port of Asterisk, not the other end's
    (ok,) = [m for m in result.received(200) if m.cseq[1] == "INVITE"]
    (invite,) = carrier_result.received("INVITE")
    rtp = range(real.cfg.rtp_start, real.cfg.rtp_start + real.cfg.rtp_ports)
    for sdp in (ok.text, invite.text):
        port = int(re.search(r"^m=audio (\d+) ", sdp, re.M).group(1))
        assert "s=Asterisk" in sdp and port in rtp, sdp
