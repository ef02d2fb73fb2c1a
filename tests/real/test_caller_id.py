"""Outbound caller IDs and round robin on a real Asterisk (manual 003 §4.1.2, §4.2, §4.3.2).

The shipped ``[carrier]`` keeps ``from_user`` (the From is the account the carrier
authenticates) and sends ``P-Asserted-Identity``: the number CooVox chose for the call.

* by default a call shows the extension's first caller ID; a dial rule may choose the
  second;
* an extension without caller IDs shows its own number (the paying endpoint's);
* a round-robin rule starts each call at the next trunk; the second trunk (``carrier2``,
  a copy of the shipped ``[carrier]``) prefers its own caller ID.
"""

from __future__ import annotations

import re

import pytest

from tests.real.kit import RealStack, sipp

pytestmark = [pytest.mark.real_asterisk, pytest.mark.asyncio(loop_scope="module")]

STACK = {"carriers": ("carrier2",), "dial_timeout": 4, "refuse_tone_seconds": 0.5}


async def setup_stack(stack: RealStack) -> None:
    api = stack.api
    await api.setup_outbound({"100": "Alice", "101": "Bob"}, trunk="first",
                             dial_string="PJSIP/{number}@carrier")
    await api.patch("/api/v1/extensions/100", {"caller_id1": "67293500",
                                               "caller_id2": "+8610555"})
    await api.post("/api/v1/trunks", {"name": "second",
                                      "dial_string": "PJSIP/{number}@carrier2",
                                      "caller_id": "02187654321", "prefer": "trunk"})
    await api.post("/api/v1/dial-rules", {"name": "Second ID", "prefix": "8", "pattern": "X.",
                                          "trunks": ["first"], "caller_id": 2})
    await api.post("/api/v1/dial-rules", {"name": "Round", "prefix": "7", "pattern": "X.",
                                          "trunks": ["first", "second"],
                                          "call_method": "round_robin"})
    await api.patch("/api/v1/dial-permissions/DialPlan1",
                    {"dial_rules": ["Out", "Second ID", "Round"]})


def asserted(invite: sipp.SipMessage) -> str:
    """The number of the INVITE's P-Asserted-Identity (the From must stay the account)."""
    assert re.search(r"^From:.*<sip:02112345678@", invite.text, re.M), invite.text
    found = re.search(r"^P-Asserted-Identity:.*<sip:([^@>]+)@", invite.text, re.M)
    assert found, invite.text
    return found.group(1)


async def answered_call(real: RealStack, phone: str, number: str, carrier: sipp.Carrier
                        ) -> tuple[dict, sipp.SipMessage]:
    far = await carrier.start(sipp.answer(hangup_after=0.5))
    result = await (await real.phone(phone).call(number)).wait(30)
    assert result.ok and result.final_status == 200, result.explain()
    (invite,) = (await far.wait(10)).received("INVITE")
    row = await real.api.finished_call(dialed=number)
    assert (row["status"], row["reason"]) == ("answered", "callee hung up"), row
    return row, invite


async def test_the_carrier_is_sent_the_extensions_first_caller_id(real: RealStack):
    row, invite = await answered_call(real, "100", "9600001", real.carrier)
    assert asserted(invite) == "67293500"
    assert (row["rule"], row["trunk"]) == ("Out", "first")


async def test_a_dial_rule_chooses_the_second_caller_id(real: RealStack):
    row, invite = await answered_call(real, "100", "8600002", real.carrier)
    assert asserted(invite) == "+8610555"
    assert row["rule"] == "Second ID"


async def test_without_caller_ids_the_paying_extension_is_shown(real: RealStack):
    _, invite = await answered_call(real, "101", "9600003", real.carrier)
    assert asserted(invite) == "101"


async def test_round_robin_starts_each_call_at_the_next_trunk(real: RealStack):
    expected = [("first", real.carrier, "67293500"),
                ("second", real.carriers["carrier2"], "02187654321"),
                ("first", real.carrier, "67293500")]
    for i, (trunk, carrier, caller_id) in enumerate(expected):
        row, invite = await answered_call(real, "100", f"760001{i}", carrier)
        assert (row["rule"], row["trunk"]) == ("Round", trunk), row
        assert asserted(invite) == caller_id
