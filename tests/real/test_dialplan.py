"""The shipped ``ari-dialplan`` on a real Asterisk, without CooVox: who may call what.

* no call goes out while CooVox is not connected (Stasis fails, the phone gets 503);
* a phone must authenticate with its own password;
* a call from the carrier's address and port lands in ``[from-carrier]`` and is refused.
"""

from __future__ import annotations

import pytest

from tests.real.kit import RealStack, sipp

pytestmark = [pytest.mark.real_asterisk, pytest.mark.asyncio(loop_scope="module")]

STACK = {"with_coovox": False}


async def test_no_call_goes_out_without_coovox(real: RealStack):
    carrier = await real.carrier.start(sipp.answer(), calls=None)
    result = await (await real.phone("100").call("9300001")).wait(30)
    assert result.ok and result.final_status == 503, result.explain()
    assert not (await carrier.stop()).received("INVITE"), "nothing reached the carrier"
    leg = real.observer.leg("PJSIP/100-", real.since)
    assert leg.cause == 34 and "Up" not in leg.states  # congestion, never answered


async def test_a_phone_with_a_wrong_password_is_refused(real: RealStack):
    phone = real.phone("100", password="not-the-password")
    result = await (await phone.call("9300002")).wait(30)
    assert result.ok and result.final_statuses() == [401, 401], result.explain()
    assert not real.observer.channel_events("PJSIP/", real.since), "no channel was made"


async def test_an_inbound_call_from_the_carrier_is_refused(real: RealStack):
    # from the carrier's own address and port: identified as the carrier, no password asked
    carrier_side = real.phone("02112345678", password="", local_port=real.cfg.carrier_port)
    result = await (await carrier_side.call("4000", challenge=False)).wait(30)
    assert result.ok and result.final_status == 403, result.explain()  # call rejected (21)
    leg = real.observer.leg("PJSIP/carrier-", real.since)
    assert leg.cause == 21, leg


async def test_only_the_carriers_address_and_port_are_taken_for_the_carrier(real: RealStack):
    impostor = real.phone("carrier", password="")  # same address, another port
    result = await (await impostor.call("4000", challenge=False)).wait(30)
    assert result.ok, result.explain()
    assert result.final_status == 401, result.explain()  # must authenticate like a phone
    assert not real.observer.channel_events("PJSIP/", real.since), "no channel was made"
